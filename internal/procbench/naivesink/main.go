// Command naivesink is the baseline of the whole-process benchmark
// (internal/procbench): the obvious Kafka-trigger handler, run as a process
// on a batch file. It decodes the batch with encoding/json into the FC SDK's
// structs (internal/testkit/naive), buffers each partition's values with a
// newline after each, and writes one file per partition: into a directory,
// or as one PutObject each into an OSS bucket through the OSS SDK.
//
//	naivesink -format text|binary|json [-dir DIR | -endpoint URL -bucket B] FILE
//
// OSS credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID,
// ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN, as the
// function reads them.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/naive"
)

func main() {
	format := flag.String("format", "text", "the trigger's data format: text, binary or json")
	dir := flag.String("dir", "", "directory to write a file per partition into")
	endpoint := flag.String("endpoint", "", "OSS endpoint to put an object per partition to (instead of -dir)")
	bucket := flag.String("bucket", "", "bucket, with -endpoint")
	flag.Parse()
	if err := run(*format, *dir, *endpoint, *bucket, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "naivesink:", err)
		os.Exit(1)
	}
}

func run(format, dir, endpoint, bucket, file string) error {
	f, err := naive.ParseFormat(format)
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read batch: %w", err)
	}
	parts, err := naive.Decode(payload, f)
	if err != nil {
		return err
	}
	if endpoint == "" {
		for _, p := range parts {
			d := filepath.Join(dir, p.Topic)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("write partition files: %w", err)
			}
			if err := os.WriteFile(filepath.Join(d, strconv.Itoa(p.Partition)+".jsonl"), p.Buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write partition files: %w", err)
			}
		}
		return nil
	}
	var opts []oss.ClientOption
	if tok := os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN"); tok != "" {
		opts = append(opts, oss.SecurityToken(tok))
	}
	client, err := oss.New(endpoint, os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"), opts...)
	if err != nil {
		return fmt.Errorf("OSS client for %s: %w", endpoint, err)
	}
	b, err := client.Bucket(bucket)
	if err != nil {
		return fmt.Errorf("OSS bucket %s: %w", bucket, err)
	}
	for _, p := range parts {
		key := fmt.Sprintf("%s/%d.jsonl", p.Topic, p.Partition)
		if err := b.PutObject(key, bytes.NewReader(p.Buf.Bytes())); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	return nil
}
