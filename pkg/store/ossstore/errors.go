package ossstore

import (
	"errors"
	"fmt"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// ErrAccessDenied is wrapped by every error from a 403 reply: unknown or
// wrong access key, bad signature, expired or wrong security token, or a
// policy that forbids the request. The wrapped oss.ServiceError says which.
var ErrAccessDenied = errors.New("access denied: check the credentials, security token and bucket policy")

// ErrNoSuchBucket is wrapped by errors from a 404 NoSuchBucket reply. It
// deliberately does not wrap store.ErrNotFound: a missing bucket is a
// misconfiguration, not an absent object.
var ErrNoSuchBucket = errors.New("bucket does not exist")

// ErrOutOfRange is wrapped by the error GetRange returns when the object
// holds fewer than off+n bytes.
var ErrOutOfRange = errors.New("range beyond the end of the object")

// wrapErr classifies err from operation verb on key and adds context. It
// keeps err in the chain.
func wrapErr(verb, key string, err error) error {
	var se oss.ServiceError
	if errors.As(err, &se) {
		switch {
		case se.Code == "NoSuchKey":
			return fmt.Errorf("ossstore: %s %q: %w (%w)", verb, key, store.ErrNotFound, err)
		case se.Code == "NoSuchBucket":
			return fmt.Errorf("ossstore: %s %q: %w (%w)", verb, key, ErrNoSuchBucket, err)
		case se.StatusCode == 404 && se.Code == "" && verb == "stat":
			// A HEAD reply has no body; OSS puts the error document in a
			// header, but without it a 404 on HEAD can only mean the key.
			return fmt.Errorf("ossstore: %s %q: %w (%w)", verb, key, store.ErrNotFound, err)
		case se.Code == "ObjectNotAppendable":
			return fmt.Errorf("ossstore: %s %q: %w (%w)", verb, key, store.ErrNotAppendable, err)
		case se.StatusCode == 403:
			return fmt.Errorf("ossstore: %s %q: %w (%w)", verb, key, ErrAccessDenied, err)
		case se.StatusCode == 416 || se.Code == "InvalidRange":
			return fmt.Errorf("ossstore: %s %q: %w (%w)", verb, key, ErrOutOfRange, err)
		}
	}
	return fmt.Errorf("ossstore: %s %q: %w", verb, key, err)
}
