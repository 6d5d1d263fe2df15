package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// serveFC serves invocations through the FC runtime API. The configuration
// is read once per instance; if it is invalid, every invocation fails with
// the same message instead of the instance crashing and restarting in a loop.
func serveFC() {
	var h *handler
	cfg, err := config.FromEnv(os.Getenv)
	if err == nil {
		h, err = newHandler(cfg, os.Stderr, fcCredentials(os.Getenv))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafka-oss-sink: %v\n", err)
	}
	fc.Start(func(ctx context.Context, payload []byte) (*Response, error) {
		if err != nil {
			return nil, fmt.Errorf("kafka-oss-sink is misconfigured (fix the function's environment variables): %w", err)
		}
		reqID := ""
		if fctx, ok := fccontext.FromContext(ctx); ok {
			reqID = fctx.RequestID
		}
		return h.invoke(ctx, reqID, payload)
	})
}

// fcCredentials takes the temporary credentials FC passes with each
// invocation (they rotate), falling back to the environment.
func fcCredentials(getenv func(string) string) credentialsFunc {
	env := envCredentials(getenv)
	return func(ctx context.Context) (ossstore.Credentials, error) {
		if fctx, ok := fccontext.FromContext(ctx); ok && fctx.Credentials.AccessKeyId != "" {
			return ossstore.Credentials{
				AccessKeyID:     fctx.Credentials.AccessKeyId,
				AccessKeySecret: fctx.Credentials.AccessKeySecret,
				SecurityToken:   fctx.Credentials.SecurityToken,
			}, nil
		}
		return env(ctx)
	}
}
