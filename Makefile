# Build and package the sink for Function Compute (runtime go1, handler main).
#
#   make package   target/main and target/function.zip, the artifact to deploy
#   make build     target/main only
#   make test      the test suite
#   make clean     remove target/
#
# The build command below is the one in pkg/fcpack (BuildEnv, BuildArgs);
# function/deploy_test.go keeps the two equal. fcpack refuses a binary that
# is not a static, stripped, -trimpath linux/amd64 executable.
#
# COMMIT is stamped into the binary (`main --version`): builds with
# GOFLAGS=-buildvcs=false, or from a source tree without .git, carry no VCS
# stamp of their own. Override it (make package COMMIT=...) when building
# from an export of the sources.

GO  ?= go
BIN := target/main
ZIP := target/function.zip
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: build package test clean

build:
	@mkdir -p target
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "-s -w -X github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo.commit=$(COMMIT)" -o $(BIN) ./function

package: build
	$(GO) run ./pkg/fcpack/cmd/fcpack -bin $(BIN) -out $(ZIP)

test:
	$(GO) test ./...

clean:
	rm -rf target
