package sinkctl

import (
	"errors"
	"flag"
	"fmt"
)

// kafkaSecurity is how every subcommand that talks to Kafka authenticates
// and encrypts: the same flags, checked the same way, the password read
// from the environment variable named on the command line (never a flag
// value, which would show in process listings).
type kafkaSecurity struct {
	mechanism   string
	user        string
	passwordEnv string
	tls         bool
	tlsCA       string
}

func (k *kafkaSecurity) register(fs *flag.FlagSet) {
	fs.StringVar(&k.mechanism, "sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL)")
	fs.StringVar(&k.user, "sasl-user", "", "SASL user")
	fs.StringVar(&k.passwordEnv, "sasl-password-env", "", "name of the environment variable holding the SASL password")
	fs.BoolVar(&k.tls, "tls", false, "connect to Kafka with TLS")
	fs.StringVar(&k.tlsCA, "tls-ca", "", "PEM file of the CA that signed the brokers' certificates (default: system roots)")
}

// given reports whether any of the flags was set.
func (k *kafkaSecurity) given() bool {
	return k.mechanism != "" || k.user != "" || k.passwordEnv != "" || k.tls || k.tlsCA != ""
}

// password checks the combination of flags and returns the SASL password
// ("" without SASL).
func (k *kafkaSecurity) password(env Env) (string, error) {
	if k.tlsCA != "" && !k.tls {
		return "", errors.New("--tls-ca needs --tls")
	}
	if k.mechanism == "" {
		if k.user != "" || k.passwordEnv != "" {
			return "", errors.New("--sasl-user and --sasl-password-env need --sasl-mechanism")
		}
		return "", nil
	}
	if k.user == "" || k.passwordEnv == "" {
		return "", errors.New("--sasl-mechanism needs --sasl-user and --sasl-password-env")
	}
	pass := env.Getenv(k.passwordEnv)
	if pass == "" {
		return "", fmt.Errorf("--sasl-password-env: variable %s is empty or not set", k.passwordEnv)
	}
	return pass, nil
}
