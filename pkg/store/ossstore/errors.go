package ossstore

import (
	"errors"
	"fmt"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// ErrAccessDenied is store.ErrAccessDenied, kept under this name for callers
// that test for it here. Every 403 reply wraps it except
// SecurityTokenExpired (store.ErrCredentialsExpired): unknown access key,
// bad signature, wrong security token, or a policy that forbids the request.
// The wrapped oss.ServiceError says which.
var ErrAccessDenied = store.ErrAccessDenied

// ErrNoSuchBucket is store.ErrNoSuchBucket, kept under this name for callers
// that test for it here. Errors from a 404 NoSuchBucket reply wrap it, and
// deliberately not store.ErrNotFound: a missing bucket is a
// misconfiguration, not an absent object.
var ErrNoSuchBucket = store.ErrNoSuchBucket

// ErrOutOfRange is wrapped by the error GetRange returns when the object
// holds fewer than off+n bytes.
var ErrOutOfRange = errors.New("range beyond the end of the object")

// wrapErr classifies err from operation verb on key and adds context. It
// keeps err in the chain. Classification is by status and OSS error code,
// never by message text.
func wrapErr(verb, key string, err error) error {
	var se oss.ServiceError
	if errors.As(err, &se) {
		var kind error
		switch {
		case se.Code == "NoSuchKey":
			kind = store.ErrNotFound
		case se.Code == "NoSuchBucket":
			kind = store.ErrNoSuchBucket
		case se.StatusCode == 404 && se.Code == "" && verb == "stat":
			// A HEAD reply has no body; OSS puts the error document in a
			// header, but without it a 404 on HEAD can only mean the key.
			kind = store.ErrNotFound
		case se.Code == "ObjectNotAppendable":
			kind = store.ErrNotAppendable
		case se.Code == "FileAlreadyExists":
			kind = store.ErrExists
		case se.Code == "SecurityTokenExpired":
			// Not permanent: the next invocation brings fresh credentials.
			kind = store.ErrCredentialsExpired
		case se.Code == "InvalidObjectState":
			// 403 as well, but not a refusal to authorize: the object is
			// archived and not restored.
			kind = store.ErrNotRestored
		case se.Code == "OperationNotSupported" || se.Code == "InvalidTag" ||
			se.Code == "InvalidEncryptionAlgorithmError":
			kind = store.ErrUnsupported
		case se.Code == "InvalidArgument" && (verb == "restore" || verb == "put" || verb == "put reader" || verb == "append"):
			// A write or restore OSS refuses as malformed (a class, key id or
			// metadata it does not take): the same request fails again.
			kind = store.ErrUnsupported
		case se.StatusCode == 403:
			kind = store.ErrAccessDenied
		case se.Code == "InvalidObjectName" || se.Code == "KeyTooLong":
			kind = store.ErrInvalidKey
		case se.StatusCode == 416 || se.Code == "InvalidRange":
			kind = ErrOutOfRange
		}
		if kind != nil {
			return fmt.Errorf("ossstore: %s %.64q: %w (%w)", verb, key, kind, err)
		}
	}
	return fmt.Errorf("ossstore: %s %.64q: %w", verb, key, err)
}

// scrub drops the raw reply body from an OSS error reply, keeping its
// status, code and message. For SignatureDoesNotMatch OSS echoes the string
// it signed, which holds the security token; a caller printing the error
// with %#v, or a hook reading RawMessage, would otherwise see it.
func scrub(err error) error {
	switch se := err.(type) {
	case oss.ServiceError:
		se.RawMessage = ""
		return se
	case *oss.ServiceError:
		c := *se
		c.RawMessage = ""
		return c
	}
	return err
}
