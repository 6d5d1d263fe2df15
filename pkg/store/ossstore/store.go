package ossstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// maxObjectSize bounds the buffer a reply's Content-Length may ask for.
const maxObjectSize = 48 << 30

// Store is a store.Store on one OSS bucket with one set of credentials. Get
// one from Pool.Store. It is safe for concurrent use.
type Store struct {
	pool   *Pool
	bucket *oss.Bucket
	stats  counters
}

var _ store.Store = (*Store)(nil)

// Stats counts the requests made through this handle.
func (s *Store) Stats() Stats { return s.stats.snapshot() }

func (s *Store) String() string {
	return fmt.Sprintf("ossstore.Store{%s/%s}", s.pool.endpoint, s.pool.cfg.Bucket)
}

// checkKey refuses, before any request, the keys OSS would refuse with 400
// InvalidObjectName.
func checkKey(verb, key string) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("ossstore: %s %.64q: %w", verb, key, err)
	}
	return nil
}

// identity asks for the object's bytes as stored. Without an Accept-Encoding
// of its own, Go's transport (unless DisableCompression, which a client
// given to WithHTTPClient may lack) would ask for gzip and then silently
// gunzip an object stored with Content-Encoding: gzip; and OSS itself may
// compress a reply to a request that accepts gzip.
var identity = oss.AcceptEncoding("identity")

// Get implements store.Store. The download is checked against the CRC-64 OSS
// reports for the object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey("get", key); err != nil {
		return nil, err
	}
	var out []byte
	err := s.do(ctx, opGet, key, func(ctx context.Context, a *attempt) error {
		var h http.Header
		res, err := s.bucket.DoGetObject(&oss.GetObjectRequest{ObjectKey: key},
			[]oss.Option{oss.WithContext(ctx), oss.GetResponseHeader(&h), identity})
		if err != nil {
			return err
		}
		defer res.Response.Close()
		body, err := readBody(res.Response.Body, h)
		a.received = int64(len(body))
		if err != nil {
			return err
		}
		if !crcMatches(crc64.Checksum(body, s.pool.crcTab), h) {
			return errCorrupt
		}
		out = body
		return nil
	})
	if err != nil {
		return nil, wrapErr("get", key, err)
	}
	return out, nil
}

// GetRange implements store.Store. n == 0 costs a HeadObject, so that an
// absent key still reports ErrNotFound and an archived one ErrNotRestored.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := checkKey("get range", key); err != nil {
		return nil, err
	}
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("ossstore: get range %q: negative offset %d or length %d", key, off, n)
	}
	if n == 0 {
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if info.StorageClass.Archived() && info.Restore != store.RestoreDone {
			// OSS would refuse a GET of these bytes; so does an empty read.
			return nil, fmt.Errorf("ossstore: get range %q: %w (class %s)", key, store.ErrNotRestored, info.StorageClass)
		}
		if off > info.Size {
			return nil, fmt.Errorf("ossstore: get range %q [%d, %d): object has %d bytes: %w", key, off, off, info.Size, ErrOutOfRange)
		}
		return []byte{}, nil
	}
	var out []byte
	err := s.do(ctx, opGet, key, func(ctx context.Context, a *attempt) error {
		var h http.Header
		rc, err := s.bucket.GetObject(key, oss.WithContext(ctx), oss.GetResponseHeader(&h), identity,
			oss.Range(off, off+n-1), oss.RangeBehavior("standard"))
		if err != nil {
			return err
		}
		defer rc.Close()
		body, err := readBody(rc, h)
		a.received = int64(len(body))
		if err != nil {
			return err
		}
		out, err = cutRange(body, h.Get("Content-Range"), off, n)
		return err
	})
	if err != nil {
		return nil, wrapErr("get range", key, err)
	}
	return out, nil
}

// cutRange checks that body, the reply to a request for [off, off+n), holds
// exactly that range. A reply without Content-Range is the whole object (OSS
// ignores ranges it cannot satisfy unless told the standard behaviour).
func cutRange(body []byte, contentRange string, off, n int64) ([]byte, error) {
	if contentRange == "" {
		if int64(len(body)) < off+n {
			return nil, fmt.Errorf("[%d, %d): object has %d bytes: %w", off, off+n, len(body), ErrOutOfRange)
		}
		return bytes.Clone(body[off : off+n]), nil // do not pin the whole object
	}
	var first, last, size int64
	if _, err := fmt.Sscanf(contentRange, "bytes %d-%d/%d", &first, &last, &size); err != nil || first != off {
		return nil, fmt.Errorf("unexpected Content-Range %q for [%d, %d)", contentRange, off, off+n)
	}
	if last-first+1 < n {
		// OSS clamped the range to the end of the object.
		return nil, fmt.Errorf("[%d, %d): object has %d bytes: %w", off, off+n, size, ErrOutOfRange)
	}
	if int64(len(body)) != n {
		return nil, fmt.Errorf("range reply of %d bytes for [%d, %d): %w", len(body), off, off+n, errTruncated)
	}
	return body, nil
}

// readBody reads a reply body whose length the headers announce, in one
// allocation, and reports a short body as errTruncated.
func readBody(r io.Reader, h http.Header) ([]byte, error) {
	cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || cl < 0 {
		return io.ReadAll(r)
	}
	if cl > maxObjectSize {
		return nil, fmt.Errorf("reply announces %d bytes, more than any object can hold", cl)
	}
	buf := make([]byte, cl)
	n, err := io.ReadFull(r, buf)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return buf[:n], fmt.Errorf("got %d of %d bytes: %w (%w)", n, cl, errTruncated, err)
		}
		return buf[:n], err
	}
	return buf, nil
}

// Stat implements store.Store with a HeadObject.
func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	if err := checkKey("stat", key); err != nil {
		return store.Info{}, err
	}
	var info store.Info
	err := s.do(ctx, opHead, key, func(ctx context.Context, a *attempt) error {
		h, err := s.bucket.GetObjectDetailedMeta(key, oss.WithContext(ctx))
		if err != nil {
			return err
		}
		info, err = infoFromHeaders(key, h)
		return err
	})
	if err != nil {
		return store.Info{}, wrapErr("stat", key, err)
	}
	return info, nil
}

func infoFromHeaders(key string, h http.Header) (store.Info, error) {
	size, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || size < 0 {
		return store.Info{}, fmt.Errorf("HeadObject reply without a valid Content-Length (%q)", h.Get("Content-Length"))
	}
	info := store.Info{
		Key:             key,
		Size:            size,
		Appendable:      strings.EqualFold(h.Get("X-Oss-Object-Type"), "Appendable"),
		ContentType:     h.Get("Content-Type"),
		ContentEncoding: h.Get("Content-Encoding"),
	}
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		info.Modified = t
	}
	info.StorageClass = store.StorageClass(h.Get(oss.HTTPHeaderOssStorageClass))
	info.SSE = h.Get(oss.HTTPHeaderOssServerSideEncryption)
	info.SSEKeyID = h.Get(oss.HTTPHeaderOssServerSideEncryptionKeyID)
	info.Restore, info.RestoreExpiry = parseRestore(h.Get("X-Oss-Restore"))
	if v := h.Get(oss.HTTPHeaderOssCRC64); v != "" {
		if crc, err := strconv.ParseUint(v, 10, 64); err == nil {
			info.CRC64, info.HasCRC64 = crc, true
		}
	}
	for name, v := range h {
		if k, ok := strings.CutPrefix(strings.ToLower(name), strings.ToLower(oss.HTTPHeaderOssMetaPrefix)); ok && k != "" && len(v) > 0 {
			info.Metadata = append(info.Metadata, store.Tag{Key: k, Value: v[0]})
		}
	}
	slices.SortFunc(info.Metadata, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	return info, nil
}

// parseRestore reads HeadObject's x-oss-restore header:
// ongoing-request="true" while a restore runs, ongoing-request="false",
// expiry-date="Sun, 16 Apr 2017 08:12:33 GMT" once it finished.
func parseRestore(v string) (store.RestoreState, time.Time) {
	switch {
	case v == "":
		return store.RestoreNone, time.Time{}
	case strings.Contains(v, `ongoing-request="true"`):
		return store.RestoreInProgress, time.Time{}
	}
	var expiry time.Time
	if _, rest, ok := strings.Cut(v, `expiry-date="`); ok {
		if d, _, ok := strings.Cut(rest, `"`); ok {
			expiry, _ = http.ParseTime(d)
		}
	}
	return store.RestoreDone, expiry
}

// Put implements store.Store with a PutObject. Repeating it is harmless, so
// it is retried after any transient failure, including a lost reply (with
// NoOverwrite the retry then finds the object and reports store.ErrExists).
func (s *Store) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	if err := checkKey("put", key); err != nil {
		return err
	}
	return s.put(ctx, "put", key, int64(len(data)), store.ApplyWriteOptions(opts), func() (io.Reader, func() (uint64, bool)) {
		return bytes.NewReader(data), func() (uint64, bool) { return crc64.Checksum(data, s.pool.crcTab), true }
	})
}

// PutReader implements store.Store with a PutObject whose body streams from
// r, through a fresh io.SectionReader per attempt, so memory does not depend
// on size and a retry re-reads from the start. The CRC-64 OSS returns is
// checked against one computed while sending. A failure to read r is not
// retried.
func (s *Store) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	const verb = "put reader"
	if err := checkKey(verb, key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("ossstore: %s %.64q: negative size %d", verb, key, size)
	}
	return s.put(ctx, verb, key, size, store.ApplyWriteOptions(opts), func() (io.Reader, func() (uint64, bool)) {
		src := &sourceReader{r: io.NewSectionReader(r, 0, size), left: size, crc: crc64.New(s.pool.crcTab)}
		return src, func() (uint64, bool) { return src.crc.Sum64(), src.left == 0 }
	})
}

// put makes the PutObject requests of Put and PutReader. body returns, per
// attempt, the request body and a function giving the CRC-64 of what was
// sent (false if the body was not sent whole).
func (s *Store) put(ctx context.Context, verb, key string, size int64, wo store.WriteOptions,
	body func() (io.Reader, func() (uint64, bool))) error {
	if err := store.CheckWriteOptions(wo, false); err != nil {
		return fmt.Errorf("ossstore: %s %.64q: %w", verb, key, err)
	}
	options := contentOptions(wo)
	if wo.NoOverwrite {
		options = append(options, oss.ForbidOverWrite(true))
	}

	err := s.do(ctx, opPut, key, func(ctx context.Context, a *attempt) error {
		a.sent = size
		var h http.Header
		r, sum := body()
		if err := s.bucket.PutObject(key, r, slices.Concat(options, []oss.Option{oss.WithContext(ctx), oss.GetResponseHeader(&h)})...); err != nil {
			return err
		}
		if crc, ok := sum(); !ok || !crcMatches(crc, h) {
			// What landed is not what we sent; a retry replaces it.
			return errCorrupt
		}
		return nil
	})
	if err != nil {
		return wrapErr(verb, key, err)
	}
	return nil
}

// contentOptions are the SDK options for the content type and encoding of a
// write. The content type is always sent: left out, the SDK would guess one
// from the key's extension through the machine's MIME table, so the same
// write would label objects differently on different machines.
func contentOptions(wo store.WriteOptions) []oss.Option {
	ct := wo.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	opts := []oss.Option{oss.ContentType(ct)}
	if wo.ContentEncoding != "" {
		opts = append(opts, oss.ContentEncoding(wo.ContentEncoding))
	}
	if wo.StorageClass != "" {
		opts = append(opts, oss.ObjectStorageClass(oss.StorageClassType(wo.StorageClass)))
	}
	if wo.SSE != "" {
		opts = append(opts, oss.ServerSideEncryption(wo.SSE))
	}
	if wo.SSEKeyID != "" {
		opts = append(opts, oss.ServerSideEncryptionKeyID(wo.SSEKeyID))
	}
	if len(wo.Tags) > 0 {
		opts = append(opts, oss.SetHeader(oss.HTTPHeaderOssTagging, taggingHeader(wo.Tags)))
	}
	for _, m := range wo.Metadata {
		opts = append(opts, oss.Meta(strings.ToLower(m.Key), m.Value))
	}
	return opts
}

// taggingHeader encodes tags for x-oss-tagging: "k1=v1&k2=v2", each key
// and value percent-encoded with a space as %20. The SDK's SetTagging
// encodes a space as '+' (url.QueryEscape), which a server that decodes
// percent escapes only reads as a plus sign, a character tags may hold, so
// "a b" would be stored as "a+b"; %20 means a space under either reading.
func taggingHeader(tags []store.Tag) string {
	var b strings.Builder
	for i, t := range tags {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(strings.ReplaceAll(url.QueryEscape(t.Key), "+", "%20"))
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(t.Value), "+", "%20"))
	}
	return b.String()
}

// defaultContentType is what OSS assigns to an object written without one.
const defaultContentType = "application/octet-stream"

// sourceReader is the body of one PutReader attempt: it hashes what it
// sends, offers the SDK its length (which the SDK would otherwise not know,
// and then send the body chunked), and marks failures of the source, which
// are not worth a retry and say nothing about OSS.
type sourceReader struct {
	r    io.Reader
	left int64
	crc  hash.Hash64
}

func (s *sourceReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.left -= int64(n)
	s.crc.Write(b[:n])
	switch {
	case err == io.EOF && s.left > 0:
		err = &sourceError{fmt.Errorf("it ended %d bytes short of the size: %w", s.left, io.ErrUnexpectedEOF)}
	case err != nil && err != io.EOF:
		err = &sourceError{err}
	}
	return n, err
}

// Len is the number of bytes still to send, for the SDK's Content-Length.
func (s *sourceReader) Len() int { return int(s.left) }

// sourceError is a failure to read PutReader's source.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "reading the source: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// crcMatches reports whether crc is the whole-object CRC-64 in the reply
// headers h (true when the server sent none).
func crcMatches(crc uint64, h http.Header) bool {
	v := h.Get(oss.HTTPHeaderOssCRC64)
	if v == "" {
		return true
	}
	want, err := strconv.ParseUint(v, 10, 64)
	return err == nil && crc == want
}

// Append implements store.Store with an AppendObject. A retry after a lost
// reply may report a *store.PositionError although the data landed. The
// content type and encoding are sent with every append; OSS applies them
// when the append creates the object and ignores them afterwards.
func (s *Store) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	if err := checkKey("append", key); err != nil {
		return 0, err
	}
	if pos < 0 {
		return 0, s.badPosition(ctx, key, pos)
	}
	var next int64
	var hdr http.Header
	wo := store.ApplyWriteOptions(opts)
	if err := store.CheckWriteOptions(wo, true); err != nil {
		return 0, fmt.Errorf("ossstore: append %.64q: %w", key, err)
	}
	options := contentOptions(wo)
	err := s.do(ctx, opAppend, key, func(ctx context.Context, a *attempt) error {
		a.sent = int64(len(data))
		hdr = nil
		var err error
		next, err = s.bucket.AppendObject(key, bytes.NewReader(data), pos,
			slices.Concat(options, []oss.Option{oss.WithContext(ctx), oss.GetResponseHeader(&hdr)})...)
		return err
	})
	if err == nil {
		if hdr.Get(oss.HTTPHeaderOssNextAppendPosition) == "" {
			next = pos + int64(len(data)) // a reply without the header; OSS always sends it
		}
		return next, nil
	}
	var se oss.ServiceError
	if !errors.As(err, &se) || se.Code != "PositionNotEqualToLength" {
		return 0, wrapErr("append", key, err)
	}
	length, perr := strconv.ParseInt(hdr.Get(oss.HTTPHeaderOssNextAppendPosition), 10, 64)
	if perr != nil || length < 0 {
		length, perr = s.currentLength(ctx, key)
		if perr != nil {
			return 0, fmt.Errorf("ossstore: append %q at %d: position rejected, and learning the length failed: %w",
				key, pos, errors.Join(err, perr))
		}
	}
	return 0, fmt.Errorf("ossstore: %w", &store.PositionError{Key: key, Position: pos, Length: length})
}

// badPosition answers an Append at a negative position, which OSS would
// reject as a malformed request, the way store.Store wants: not appendable,
// or a *PositionError with the current length.
func (s *Store) badPosition(ctx context.Context, key string, pos int64) error {
	info, err := s.Stat(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &store.PositionError{Key: key, Position: pos, Length: 0}
	case err != nil:
		return err
	case !info.Appendable:
		return fmt.Errorf("ossstore: append %q: %w", key, store.ErrNotAppendable)
	}
	return &store.PositionError{Key: key, Position: pos, Length: info.Size}
}

// currentLength is the object's length for a PositionError when the reply
// did not carry it: 0 if the object is absent.
func (s *Store) currentLength(ctx context.Context, key string) (int64, error) {
	info, err := s.Stat(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return info.Size, err
}

// List implements store.Store, paging through ListObjectsV2, 1,000 keys a
// request.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Info, error) {
	out := []store.Info{}
	if len(prefix) > store.MaxKeyLen {
		return out, nil // no key is that long; OSS would refuse the prefix
	}
	token := ""
	for {
		res, err := s.listObjects(ctx, prefix, "", token, store.MaxListPage)
		if err != nil {
			return nil, wrapErr("list", prefix, err)
		}
		out = appendInfos(out, res.Objects)
		if !res.IsTruncated {
			break
		}
		if token, err = nextToken(res, token); err != nil {
			return nil, fmt.Errorf("ossstore: list %.64q: %w", prefix, err)
		}
	}
	// OSS lists in byte order already; sorting is cheap insurance for the
	// contract.
	slices.SortFunc(out, func(a, b store.Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// ListPage implements store.Store with one ListObjectsV2 (prefix,
// start-after, max-keys = limit, at most 1,000). The keys come back
// URL-decoded by the SDK (it asks for encoding-type=url), so the last one
// can be passed back as startAfter as is. more is OSS's IsTruncated. In the
// one case OSS answers an empty page that says more follow, ListPage follows
// the continuation token, so that a caller paging by startAfter always makes
// progress; that is the only case of more than one request.
func (s *Store) ListPage(ctx context.Context, prefix, startAfter string, limit int) ([]store.Info, bool, error) {
	if limit <= 0 || limit > store.MaxListPage {
		limit = store.MaxListPage
	}
	if len(prefix) > store.MaxKeyLen {
		return []store.Info{}, false, nil // no key is that long; OSS would refuse the prefix
	}
	if len(startAfter) > store.MaxKeyLen {
		// OSS refuses a start-after of 1,024 bytes or more. A key k of at
		// most 1,023 bytes sorts after startAfter exactly when it sorts
		// after startAfter's first 1,023 bytes: they differ within those,
		// or k is a prefix of startAfter and sorts before both.
		startAfter = startAfter[:store.MaxKeyLen]
	}
	token := ""
	for {
		res, err := s.listObjects(ctx, prefix, startAfter, token, limit)
		if err != nil {
			return nil, false, wrapErr("list page", prefix, err)
		}
		out := appendInfos([]store.Info{}, res.Objects)
		if len(out) > 0 || !res.IsTruncated {
			slices.SortFunc(out, func(a, b store.Info) int { return strings.Compare(a.Key, b.Key) })
			return out, res.IsTruncated, nil
		}
		if token, err = nextToken(res, token); err != nil {
			return nil, false, fmt.Errorf("ossstore: list page %.64q after %.64q: %w", prefix, startAfter, err)
		}
	}
}

// listObjects makes one ListObjectsV2 request (retried as one operation).
// OSS ignores start-after when a continuation token is given, so only one of
// the two is sent.
func (s *Store) listObjects(ctx context.Context, prefix, startAfter, token string, maxKeys int) (oss.ListObjectsResultV2, error) {
	var res oss.ListObjectsResultV2
	err := s.do(ctx, opList, prefix, func(ctx context.Context, a *attempt) error {
		opts := []oss.Option{oss.WithContext(ctx), oss.Prefix(prefix), oss.MaxKeys(maxKeys)}
		switch {
		case token != "":
			opts = append(opts, oss.ContinuationToken(token))
		case startAfter != "":
			opts = append(opts, oss.StartAfter(startAfter))
		}
		var err error
		res, err = s.bucket.ListObjectsV2(opts...)
		return err
	})
	return res, err
}

// nextToken returns the continuation token of a truncated page, refusing
// one that would list the same page again.
func nextToken(res oss.ListObjectsResultV2, token string) (string, error) {
	if res.NextContinuationToken == "" || res.NextContinuationToken == token {
		return "", errors.New("truncated page without a new continuation token")
	}
	return res.NextContinuationToken, nil
}

func appendInfos(out []store.Info, objects []oss.ObjectProperties) []store.Info {
	for _, o := range objects {
		out = append(out, store.Info{
			Key:          o.Key,
			Size:         o.Size,
			Appendable:   strings.EqualFold(o.Type, "Appendable"),
			Modified:     o.LastModified,
			StorageClass: store.StorageClass(o.StorageClass),
		})
	}
	return out
}

// Restore implements store.Store with a RestoreObject. A 202 reply is
// RestoreRequested, a 200 RestoreDone and 409 RestoreAlreadyInProgress
// RestoreInProgress. A retry after a lost 202 meets the running restore and
// reports RestoreInProgress: either way a restore runs.
func (s *Store) Restore(ctx context.Context, key string, days int, tier store.RestoreTier) (store.RestoreState, error) {
	if err := checkKey("restore", key); err != nil {
		return store.RestoreNone, err
	}
	if days < 1 {
		return store.RestoreNone, fmt.Errorf("ossstore: restore %.64q: %w: days must be at least 1, not %d", key, store.ErrUnsupported, days)
	}
	state := store.RestoreNone
	err := s.do(ctx, opRestore, key, func(ctx context.Context, a *attempt) error {
		err := s.bucket.RestoreObjectDetail(key, oss.RestoreConfiguration{Days: int32(days), Tier: string(tier)}, oss.WithContext(ctx))
		var se oss.ServiceError
		switch {
		case errors.As(err, &se) && se.Code == "RestoreAlreadyInProgress":
			state = store.RestoreInProgress
			return nil
		case err != nil:
			return err
		case a.status.Load() == http.StatusAccepted:
			state = store.RestoreRequested
		default:
			state = store.RestoreDone
		}
		return nil
	})
	if err != nil {
		return store.RestoreNone, wrapErr("restore", key, err)
	}
	return state, nil
}

// Tags implements store.Store with a GetObjectTagging.
func (s *Store) Tags(ctx context.Context, key string) ([]store.Tag, error) {
	if err := checkKey("get tags of", key); err != nil {
		return nil, err
	}
	var out []store.Tag
	err := s.do(ctx, opGetTagging, key, func(ctx context.Context, a *attempt) error {
		res, err := s.bucket.GetObjectTagging(key, oss.WithContext(ctx))
		if err != nil {
			return err
		}
		out = out[:0]
		for _, t := range res.Tags {
			out = append(out, store.Tag{Key: t.Key, Value: t.Value})
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("get tags of", key, err)
	}
	slices.SortFunc(out, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements store.Store with a DeleteObject.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	err := s.do(ctx, opDelete, key, func(ctx context.Context, a *attempt) error {
		return s.bucket.DeleteObject(key, oss.WithContext(ctx))
	})
	var se oss.ServiceError
	if errors.As(err, &se) && se.Code == "NoSuchKey" {
		return nil // OSS answers 204 for absent keys; tolerate a 404 too
	}
	if err != nil {
		return wrapErr("delete", key, err)
	}
	return nil
}
