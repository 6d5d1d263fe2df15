package sinkctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// Credential variables, as the function reads them outside FC.
const (
	envAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	envAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	envSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
)

// DefaultConnectTimeout bounds the first request to OSS.
const DefaultConnectTimeout = 15 * time.Second

// storeFlags selects the store and prefix; every subcommand registers them.
type storeFlags struct {
	dir            string
	prefix         string
	connectTimeout time.Duration
}

func (sf *storeFlags) register(fs *cmdFlags, env Env) {
	fs.StringVar(&sf.dir, "dir", "", "read a local directory laid out as the bucket instead of OSS (default: OSS with OSS_BUCKET, else $SINK_LOCAL_DIR or ./oss-local)")
	fs.StringVar(&sf.prefix, "prefix", env.Getenv(config.EnvPrefix), "key prefix the sink writes under (default $OSS_PREFIX)")
	fs.DurationVar(&sf.connectTimeout, "oss-timeout", DefaultConnectTimeout, "how long the first OSS request may take before the endpoint counts as unreachable")
	fs.timeoutFlags(env)
}

// opened is a store ready for use.
type opened struct {
	st     store.Store
	prefix string // normalized
	desc   string // where it is, for humans; never credentials
}

// open selects, opens and (for OSS) probes the store.
func (sf *storeFlags) open(ctx context.Context, env Env) (*opened, error) {
	prefix := sink.NormalizePrefix(sf.prefix)
	if len(prefix) > 0 && prefix[0] == '/' {
		return nil, fmt.Errorf("--prefix %q: must not start with '/'", sf.prefix)
	}
	if env.store != nil {
		return &opened{st: env.store, prefix: prefix, desc: fmt.Sprintf("test store, prefix %q", prefix)}, nil
	}
	if sf.dir != "" {
		return openDir(sf.dir, prefix)
	}
	cfg, err := config.FromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	if !cfg.UseOSS() {
		o, err := openDir(cfg.LocalDir, prefix)
		if err != nil {
			return nil, fmt.Errorf("%w (%s is not set, so the local directory of %s is read; pass --dir, or set %s for OSS)",
				err, config.EnvBucket, config.EnvLocalDir, config.EnvBucket)
		}
		return o, nil
	}
	if sf.connectTimeout <= 0 {
		return nil, fmt.Errorf("--oss-timeout %v: must be positive", sf.connectTimeout)
	}
	creds := ossstore.Credentials{
		AccessKeyID:     env.Getenv(envAccessKeyID),
		AccessKeySecret: env.Getenv(envAccessKeySecret),
		SecurityToken:   env.Getenv(envSecurityToken),
	}
	if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
		return nil, fmt.Errorf("no OSS credentials: set %s and %s (and %s for temporary STS credentials)",
			envAccessKeyID, envAccessKeySecret, envSecurityToken)
	}
	pool, err := ossstore.NewPool(ossstore.Config{Endpoint: cfg.Endpoint, Bucket: cfg.Bucket},
		ossstore.WithTimeouts(sf.connectTimeout, time.Minute),
		ossstore.WithRetry(4, 100*time.Millisecond, 2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("OSS configuration: %w", err)
	}
	st, err := pool.Store(creds)
	if err != nil {
		return nil, fmt.Errorf("OSS configuration: %w", err)
	}
	o := &opened{st: st, prefix: prefix, desc: fmt.Sprintf("oss://%s/%s (endpoint %s)", cfg.Bucket, prefix, cfg.Endpoint)}
	if err := probe(ctx, st, prefix, sf.connectTimeout); err != nil {
		return nil, explainOSS(ctx, err, cfg, sf.connectTimeout)
	}
	return o, nil
}

func openDir(dir, prefix string) (*opened, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("store directory %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("store directory %q is not a directory", dir)
	}
	st, err := localstore.New(dir)
	if err != nil {
		return nil, fmt.Errorf("store directory %q: %w", dir, err)
	}
	return &opened{st: st, prefix: prefix, desc: fmt.Sprintf("directory %s, prefix %q", st.Dir(), prefix)}, nil
}

// probe makes one cheap request (a listing that matches nothing) so that
// endpoint, bucket and credentials are known good before any work.
func probe(ctx context.Context, st store.Store, prefix string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := st.List(ctx, prefix+".sinkctl-connection-check/")
	return err
}

// explainOSS turns a failed first request into a message that says what
// to check. It names variables, never their values' secrets.
func explainOSS(parent context.Context, err error, cfg config.Config, timeout time.Duration) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("interrupted while connecting to OSS: %w", context.Cause(parent))
	case errors.Is(err, store.ErrCredentialsExpired):
		return fmt.Errorf("the temporary (STS) credentials for bucket %q have expired: put fresh ones in %s, %s and %s and run again: %w",
			cfg.Bucket, envAccessKeyID, envAccessKeySecret, envSecurityToken, err)
	case errors.Is(err, store.ErrAccessDenied):
		return fmt.Errorf("OSS denied access to bucket %q at %s: check %s, %s and %s, and that the key may list the bucket: %w",
			cfg.Bucket, cfg.Endpoint, envAccessKeyID, envAccessKeySecret, envSecurityToken, err)
	case errors.Is(err, store.ErrNoSuchBucket):
		return fmt.Errorf("bucket %q does not exist at %s: check %s and %s: %w", cfg.Bucket, cfg.Endpoint, config.EnvBucket, config.EnvEndpoint, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("OSS endpoint %s did not answer within %v: check %s (an -internal endpoint answers only inside its region) and the network: %w",
			cfg.Endpoint, timeout, config.EnvEndpoint, err)
	}
	return fmt.Errorf("cannot reach OSS bucket %q at %s: check %s and the network: %w", cfg.Bucket, cfg.Endpoint, config.EnvEndpoint, err)
}
