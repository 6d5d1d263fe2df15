package kafkasasl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestConnectHint(t *testing.T) {
	wrap := func(err error) error { return sarama.Wrap(sarama.ErrOutOfBrokers, fmt.Errorf("dial: %w", err)) }
	for _, tc := range []struct {
		name   string
		err    error
		tls    bool
		ca     string
		sasl   bool
		want   string
		wantNo string
	}{
		{"untrusted, system roots", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true, "", false, "give that CA's PEM file with --tls-ca", "whether the listener wants TLS"},
		{"untrusted, CA file", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true, "ca.pem", false, "not signed by the CA in ca.pem", "system"},
		{"wrong host", wrap(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "10.0.0.1"}), true, "", false, "not for the address dialled", "--tls-ca"},
		{"plaintext listener", wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), true, "", false, "drop --tls", "--tls-ca"},
		{"plain, no TLS error", wrap(errors.New("connection refused")), false, "", true, "whether the listener wants TLS (--tls), and the SASL", "TLS:"},
		{"TLS on, no TLS error", wrap(errors.New("connection refused")), true, "", false, "(TLS is on)", "wants TLS"},
	} {
		got := ConnectHint(tc.err, tc.tls, tc.ca, tc.sasl)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.wantNo) {
			t.Errorf("%s: %q, want %q and not %q", tc.name, got, tc.want, tc.wantNo)
		}
	}
	if NoAnswerHint(true) == NoAnswerHint(false) || !strings.Contains(NoAnswerHint(false), "--tls") {
		t.Errorf("NoAnswerHint: %q / %q", NoAnswerHint(true), NoAnswerHint(false))
	}
}
