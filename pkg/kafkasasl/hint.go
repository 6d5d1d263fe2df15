package kafkasasl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ConnectHint says what to check after no broker could be used, for the
// case err shows: a certificate not trusted (with or without caFile) or
// not for the address dialled, a listener that does not answer TLS with
// TLS, or, without a TLS error, the addresses and network (and whether
// the listener wants TLS, when tlsOn is false). sasl adds the SASL
// settings to the list. It names command-line flags (--tls, --tls-ca), as
// every tool using it takes them.
func ConnectHint(err error, tlsOn bool, caFile string, sasl bool) string {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
	)
	hint := ""
	switch {
	case errors.As(err, &ua) && caFile != "":
		return fmt.Sprintf("TLS: the brokers' certificate is not signed by the CA in %s: give the CA that signed it (--tls-ca)", caFile)
	case errors.As(err, &ua):
		return "TLS: the brokers' certificate is signed by a CA the system does not trust: give that CA's PEM file with --tls-ca"
	case errors.As(err, &he):
		return fmt.Sprintf("TLS: the brokers' certificate is not for the address dialled (%v): dial a name the certificate holds", he.Error())
	case errors.As(err, &ci):
		return fmt.Sprintf("TLS: the brokers' certificate is not valid (%v)", ci.Error())
	case errors.As(err, &rh):
		return "TLS: the listener did not answer the TLS handshake with TLS (a plaintext listener?): drop --tls or dial the TLS listener's port"
	case tlsOn:
		hint = "check the addresses and the network (TLS is on)"
	default:
		hint = "check the addresses, the network and whether the listener wants TLS (--tls)"
	}
	if sasl {
		hint += ", and the SASL mechanism and credentials"
	}
	return hint
}

// NoAnswerHint says why brokers may not answer at all within the
// timeout: a TLS listener ignores a plaintext client, and a plaintext
// listener a TLS handshake.
func NoAnswerHint(tlsOn bool) string {
	if tlsOn {
		return "a plaintext listener does not answer a TLS handshake: check that the port is the TLS listener's, the addresses and the network"
	}
	return "a TLS listener does not answer a plaintext client: check --tls, the addresses and the network"
}
