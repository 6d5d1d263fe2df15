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

GO  ?= go
BIN := target/main
ZIP := target/function.zip

.PHONY: build package test clean

build:
	@mkdir -p target
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN) ./function

package: build
	$(GO) run ./pkg/fcpack/cmd/fcpack -bin $(BIN) -out $(ZIP)

test:
	$(GO) test ./...

clean:
	rm -rf target
