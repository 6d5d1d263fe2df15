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
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
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
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, testTopic),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	// Produce over TLS.
	kcfg := sarama.NewConfig()
	kcfg.Version = sarama.V2_1_0_0
	kcfg.Producer.Return.Successes = true
	kcfg.Producer.Partitioner = sarama.NewManualPartitioner
	kcfg.Net.TLS.Enable = true
	kcfg.Net.TLS.Config = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	prod, err := sarama.NewSyncProducer(addrs, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := map[int32]map[int64]produced{}
	for i := 0; i < 60; i++ {
		p := int32(i % 4)
		r := produced{key: fmt.Sprint(i), value: fmt.Sprintf("tls %d", i), ts: 1700000000000 + int64(i), header: fmt.Sprintf("h%d", i)}
		_, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: testTopic, Partition: p, Key: sarama.StringEncoder(r.key),
			Value: sarama.StringEncoder(r.value), Timestamp: time.UnixMilli(r.ts),
			Headers: []sarama.RecordHeader{{Key: []byte("trace"), Value: []byte(r.header)}}})
		if err != nil {
			t.Fatal(err)
		}
		if recs[p] == nil {
			recs[p] = map[int64]produced{}
		}
		recs[p][off] = r
	}
	prod.Close()

	// Without the CA: the broker's certificate is not trusted.
	began := time.Now()
	err = Run(t.Context(), newHandler(t, t.TempDir()), baseOpts(addrs, "g-tls", TLS(""))...)
	var ce *ConnectError
	if !errors.As(err, &ce) || time.Since(began) > 15*time.Second {
		t.Fatalf("without the CA: %v after %v, want a ConnectError in time", err, time.Since(began))
	}

	// With it: everything, exactly once. (The handler writes to a local
	// directory; checkStore compares each record.)
	dir := t.TempDir()
	stop, _ := start(t, newHandler(t, dir), baseOpts(addrs, "g-tls", TLS(caFile))...)
	deadline := time.Now().Add(30 * time.Second)
	for !allCommittedTLS(t, addrs, pool, recs) {
		if time.Now().After(deadline) {
			t.Fatal("not everything committed over TLS")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkStore(t, dir, recs)
}

// allCommittedTLS reports whether the group committed every produced record.
func allCommittedTLS(t *testing.T, addrs []string, pool *x509.CertPool, recs map[int32]map[int64]produced) bool {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Net.TLS.Enable = true
	cfg.Net.TLS.Config = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	adm, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	resp, err := adm.ListConsumerGroupOffsets("g-tls", map[string][]int32{testTopic: {0, 1, 2, 3}})
	if err != nil {
		return false
	}
	for p, m := range recs {
		b := resp.GetBlock(testTopic, p)
		if b == nil || b.Offset < int64(len(m)) {
			return false
		}
	}
	return true
}
