package sinkctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// verifyKafkaFlags are verify's flags for the comparison with the source
// cluster; the connection flags are named as in sinkctl consume.
type verifyKafkaFlags struct {
	brokers  listFlag
	group    string
	clientID string
	sec      kafkaSecurity
	timeout  time.Duration
}

// register defines the flags; purpose says what the cluster is for
// ("compare with this Kafka cluster").
func (f *verifyKafkaFlags) register(fs *cmdFlags, purpose string) {
	fs.Var(&f.brokers, "brokers", purpose+": bootstrap servers, host:port; repeatable or comma-separated (needs --group)")
	fs.StringVar(&f.group, "group", "", "the sink's consumer group, whose committed offsets are shown (with --brokers)")
	fs.StringVar(&f.clientID, "client-id", verify.DefaultKafkaClientID, "Kafka client id")
	f.sec.register(fs.FlagSet)
	fs.DurationVar(&f.timeout, "kafka-timeout", verify.DefaultKafkaTimeout, "bound on dialing a broker and on each Kafka request")
}

// config checks the flags; ok is false when no Kafka comparison is asked.
func (f *verifyKafkaFlags) config(env Env) (cfg verify.KafkaConfig, ok bool, err error) {
	if len(f.brokers) == 0 {
		if f.group != "" || f.sec.given() {
			return cfg, false, errors.New("Kafka flags given without --brokers")
		}
		return cfg, false, nil
	}
	if f.group == "" {
		return cfg, false, errors.New("--brokers needs --group (the sink's consumer group)")
	}
	if f.timeout <= 0 {
		return cfg, false, fmt.Errorf("--kafka-timeout %v: must be positive", f.timeout)
	}
	pass, err := f.sec.password(env)
	if err != nil {
		return cfg, false, err
	}
	cfg = verify.KafkaConfig{Brokers: f.brokers, Group: f.group, ClientID: f.clientID, TLS: f.sec.tls, TLSCAFile: f.sec.tlsCA, Timeout: f.timeout,
		SASLMechanism: f.sec.mechanism, SASLUser: f.sec.user, SASLPassword: pass}
	return cfg, true, nil
}

// asked reports whether a Kafka comparison is asked.
func (f *verifyKafkaFlags) asked() bool { return len(f.brokers) > 0 }

// open connects to Kafka when asked; the returned close func is never nil.
func (f *verifyKafkaFlags) open(ctx context.Context, env Env) (verify.Option, func(), error) {
	cfg, ok, err := f.config(env)
	if err != nil || !ok {
		return nil, func() {}, err
	}
	k, err := verify.NewSaramaKafka(ctx, cfg)
	if err != nil {
		return nil, func() {}, err
	}
	return verify.WithKafka(k), func() { k.Close() }, nil
}

// writeKafkaTable prints, after the table, what Kafka holds per partition.
func writeKafkaTable(w io.Writer, rep *verify.Report) error {
	has := false
	for _, p := range rep.Partitions {
		has = has || p.Kafka != nil
	}
	if !has {
		return nil
	}
	fmt.Fprintln(w, "\nKAFKA")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var marks inexactMarks
	filtered := rep.Total.Filtered > 0
	if filtered {
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tKAFKA RANGE\tCOMMITTED\tSTORED\tFILTERED")
	} else {
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tKAFKA RANGE\tCOMMITTED\tSTORED")
	}
	for _, p := range rep.Partitions {
		if p.Kafka == nil {
			continue
		}
		k := p.Kafka
		committed := "-"
		if k.Committed >= 0 {
			committed = strconv.FormatInt(k.Committed, 10)
		}
		stored := "-"
		if p.FirstOffset >= 0 || p.LastOffset >= 0 {
			mark := marks.of(p.ExactOffsets, p.Objects, currentLegacyRaw(&p))
			stored = offset(p.FirstOffset, mark) + ".." + offset(p.LastOffset, mark)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d..%d\t%s\t%s", p.Topic, p.Partition, k.LogStart, k.HighWatermark, committed, stored)
		if filtered {
			fmt.Fprintf(tw, "\t%d", p.Filtered)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	marks.footnotes(w)
	fmt.Fprintln(w, "(KAFKA RANGE: log start offset .. high watermark; COMMITTED: the group's next offset; for raw objects without a record index the comparison counts records and is approximate)")
	if filtered {
		fmt.Fprintln(w, "(FILTERED: records Kafka holds below the committed offset that the sink was configured not to store (a filter, SINK_INVALID=drop): not missing)")
	}
	return nil
}
