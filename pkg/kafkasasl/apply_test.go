package kafkasasl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestApply(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mech, user  string
		tls               bool
		ca, wantErr       string
		wantMech          sarama.SASLMechanism
		wantSCRAM, wantTL bool
	}{
		{name: "nothing"},
		{name: "plain", mech: "plain", user: "u", wantMech: sarama.SASLTypePlaintext},
		{name: "scram 256", mech: SCRAMSHA256, user: "u", wantMech: sarama.SASLTypeSCRAMSHA256, wantSCRAM: true},
		{name: "scram 512 and tls", mech: SCRAMSHA512, user: "u", tls: true, wantMech: sarama.SASLTypeSCRAMSHA512, wantSCRAM: true, wantTL: true},
		{name: "unknown mechanism", mech: "GSSAPI", user: "u", wantErr: `SASL mechanism "GSSAPI"`},
		{name: "no user", mech: Plain, wantErr: "without a user"},
		{name: "missing CA file", tls: true, ca: "/nonexistent/ca.pem", wantErr: "TLS CA file"},
		{name: "CA file without PEM", tls: true, ca: notPEM, wantErr: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sarama.NewConfig()
			err := Apply(c, tt.mech, tt.user, "secret", tt.tls, tt.ca)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Net.SASL.Enable != (tt.mech != "") || c.Net.SASL.Mechanism != tt.wantMech && tt.mech != "" ||
				(c.Net.SASL.SCRAMClientGeneratorFunc != nil) != tt.wantSCRAM || c.Net.TLS.Enable != tt.wantTL {
				t.Fatalf("config: SASL %v %q scram %v, TLS %v", c.Net.SASL.Enable, c.Net.SASL.Mechanism, c.Net.SASL.SCRAMClientGeneratorFunc != nil, c.Net.TLS.Enable)
			}
		})
	}
}
