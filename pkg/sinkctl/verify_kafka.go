package sinkctl

import (
	"context"
	"errors"
	"flag"
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
	brokers         listFlag
	group           string
	clientID        string
	saslMechanism   string
	saslUser        string
	saslPasswordEnv string
	tls             bool
	tlsCA           string
	timeout         time.Duration
}

func (f *verifyKafkaFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.brokers, "brokers", "compare with this Kafka cluster: bootstrap servers, host:port; repeatable or comma-separated (needs --group)")
	fs.StringVar(&f.group, "group", "", "the sink's consumer group, whose committed offsets are compared (with --brokers)")
	fs.StringVar(&f.clientID, "client-id", verify.DefaultKafkaClientID, "Kafka client id")
	fs.StringVar(&f.saslMechanism, "sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL)")
	fs.StringVar(&f.saslUser, "sasl-user", "", "SASL user")
	fs.StringVar(&f.saslPasswordEnv, "sasl-password-env", "", "name of the environment variable holding the SASL password")
	fs.BoolVar(&f.tls, "tls", false, "connect to Kafka with TLS")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM file of the CA that signed the brokers' certificates (default: system roots)")
	fs.DurationVar(&f.timeout, "kafka-connect-timeout", verify.DefaultKafkaTimeout, "bound on dialing a broker and on each Kafka request")
}

// config checks the flags; ok is false when no Kafka comparison is asked.
func (f *verifyKafkaFlags) config(env Env) (cfg verify.KafkaConfig, ok bool, err error) {
	if len(f.brokers) == 0 {
		if f.group != "" || f.saslMechanism != "" || f.saslUser != "" || f.saslPasswordEnv != "" || f.tls || f.tlsCA != "" {
			return cfg, false, errors.New("Kafka flags given without --brokers")
		}
		return cfg, false, nil
	}
	if f.group == "" {
		return cfg, false, errors.New("--brokers needs --group (the sink's consumer group)")
	}
	if f.timeout <= 0 {
		return cfg, false, fmt.Errorf("--kafka-connect-timeout %v: must be positive", f.timeout)
	}
	cfg = verify.KafkaConfig{Brokers: f.brokers, Group: f.group, ClientID: f.clientID, TLS: f.tls, TLSCAFile: f.tlsCA, Timeout: f.timeout}
	if f.saslMechanism != "" {
		if f.saslUser == "" || f.saslPasswordEnv == "" {
			return cfg, false, errors.New("--sasl-mechanism needs --sasl-user and --sasl-password-env")
		}
		pass := env.Getenv(f.saslPasswordEnv)
		if pass == "" {
			return cfg, false, fmt.Errorf("--sasl-password-env: variable %s is empty or not set", f.saslPasswordEnv)
		}
		cfg.SASLMechanism, cfg.SASLUser, cfg.SASLPassword = f.saslMechanism, f.saslUser, pass
	} else if f.saslUser != "" || f.saslPasswordEnv != "" {
		return cfg, false, errors.New("--sasl-user and --sasl-password-env need --sasl-mechanism")
	}
	if f.tlsCA != "" && !f.tls {
		return cfg, false, errors.New("--tls-ca needs --tls")
	}
	return cfg, true, nil
}

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
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tKAFKA RANGE\tCOMMITTED\tSTORED")
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
			mark := ""
			if !p.ExactOffsets {
				mark = "*"
			}
			stored = offset(p.FirstOffset, mark) + ".." + offset(p.LastOffset, mark)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d..%d\t%s\t%s\n", p.Topic, p.Partition, k.LogStart, k.HighWatermark, committed, stored)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "(KAFKA RANGE: log start offset .. high watermark; COMMITTED: the group's next offset; for raw data the comparison counts records and is approximate)")
	return nil
}
