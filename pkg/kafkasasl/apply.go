package kafkasasl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
)

// Mechanism names, as the command-line tools take them.
const (
	Plain       = "PLAIN"
	SCRAMSHA256 = "SCRAM-SHA-256"
	SCRAMSHA512 = "SCRAM-SHA-512"
)

// Apply sets c up for SASL (mechanism "" for none; Plain, SCRAMSHA256 or
// SCRAMSHA512, case-insensitive) with user and password, and for TLS (at
// least 1.2) when tlsOn, trusting the PEM certificates in caFile if it is
// not "" (else the system's). It checks what it can without connecting.
func Apply(c *sarama.Config, mechanism, user, password string, tlsOn bool, caFile string) error {
	if mechanism != "" {
		c.Net.SASL.Enable = true
		c.Net.SASL.Handshake = true
		c.Net.SASL.User = user
		c.Net.SASL.Password = password
		switch strings.ToUpper(mechanism) {
		case Plain:
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case SCRAMSHA256:
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		case SCRAMSHA512:
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		default:
			return fmt.Errorf("SASL mechanism %q: want %s, %s or %s", mechanism, Plain, SCRAMSHA256, SCRAMSHA512)
		}
		if c.Net.SASL.Mechanism != sarama.SASLTypePlaintext {
			gen, err := NewSCRAMGenerator(c.Net.SASL.Mechanism)
			if err != nil {
				return err
			}
			c.Net.SASL.SCRAMClientGeneratorFunc = gen
		}
		if user == "" {
			return errors.New("SASL enabled without a user")
		}
	}
	if tlsOn {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("TLS CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("TLS CA file %s: no PEM certificate in it", caFile)
			}
			tc.RootCAs = pool
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	return nil
}
