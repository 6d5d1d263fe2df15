package consume

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
)

// testPKI makes a CA and a server certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (server tls.Certificate, caPEM []byte, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool
}

// TestTLS consumes from brokers that speak only TLS, trusting them through a
// CA file; without the CA the connection fails with a clear error, in time.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, caPEM, pool := testPKI(t)
	c := kafkatest.NewCluster(t, kfake.SeedTopics(4, testTopic),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	addrs := c.ListenAddrs()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	// Produce over TLS.
	overTLS := kafkatest.TLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	prs := make([]produced, 60)
	msgs := make([]kafkatest.Message, len(prs))
	for i := range prs {
		prs[i] = produced{key: fmt.Sprint(i), value: fmt.Sprintf("tls %d", i), ts: 1700000000000 + int64(i), header: fmt.Sprintf("h%d", i)}
		msgs[i] = prs[i].message(int32(i % 4))
	}
	recs := byOffset(msgs, prs, kafkatest.Produce(t, addrs, testTopic, msgs, overTLS))

	// Without the CA: the broker's certificate is not trusted.
	began := time.Now()
	err := Run(t.Context(), newHandler(t, t.TempDir()), baseOpts(addrs, "g-tls", TLS(""))...)
	var ce *ConnectError
	if !errors.As(err, &ce) || time.Since(began) > 15*time.Second {
		t.Fatalf("without the CA: %v after %v, want a ConnectError in time", err, time.Since(began))
	}
	if !strings.Contains(err.Error(), "--tls-ca") || strings.Contains(err.Error(), "whether the listener wants TLS") {
		t.Errorf("without the CA: the hint does not describe an untrusted certificate: %v", err)
	}

	// With it: everything, exactly once. (The handler writes to a local
	// directory; checkStore compares each record.)
	dir := t.TempDir()
	stop, _ := start(t, newHandler(t, dir), baseOpts(addrs, "g-tls", TLS(caFile))...)
	kafkatest.WaitCommitted(t, addrs, "g-tls", testTopic, nextOffsets(recs), 30*time.Second, overTLS)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkStore(t, dir, recs)
}
