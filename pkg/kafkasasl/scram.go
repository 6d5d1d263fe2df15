// Package kafkasasl holds the connection security every Kafka tool here
// shares, for sarama: Apply sets SASL (PLAIN, SCRAM-SHA-256/512) and TLS
// (with a CA file) on a sarama.Config, and the SCRAM (RFC 5802) client that
// sarama leaves to its users.
package kafkasasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

// scramClient is a SCRAM (RFC 5802) client for sarama's
// SCRAMClientGeneratorFunc, without channel binding. Usernames are escaped
// as the RFC requires; passwords are used as given (no SASLprep).
type scramClient struct {
	newHash func() hash.Hash
	user    string
	pass    string

	step        int
	nonce       string
	clientFirst string // bare
	authMessage string
	saltedPass  []byte
	done        bool
}

// NewSCRAMGenerator returns a SCRAMClientGeneratorFunc for mechanism
// (sarama.SASLTypeSCRAMSHA256 or sarama.SASLTypeSCRAMSHA512), or an error
// for any other.
func NewSCRAMGenerator(mechanism sarama.SASLMechanism) (func() sarama.SCRAMClient, error) {
	var h func() hash.Hash
	switch mechanism {
	case sarama.SASLTypeSCRAMSHA256:
		h = sha256.New
	case sarama.SASLTypeSCRAMSHA512:
		h = sha512.New
	default:
		return nil, fmt.Errorf("unsupported SCRAM mechanism %q", mechanism)
	}
	return func() sarama.SCRAMClient { return &scramClient{newHash: h} }, nil
}

func (c *scramClient) Begin(user, pass, _ string) error {
	c.user, c.pass = user, pass
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("scram nonce: %w", err)
	}
	c.nonce = base64.RawStdEncoding.EncodeToString(b[:])
	c.step = 0
	c.done = false
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	switch c.step {
	case 0:
		c.step++
		u := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(c.user)
		c.clientFirst = "n=" + u + ",r=" + c.nonce
		return "n,," + c.clientFirst, nil
	case 1:
		c.step++
		attrs := parseSCRAM(challenge)
		if e, ok := attrs["e"]; ok {
			return "", fmt.Errorf("scram: server error %q", e)
		}
		nonce, salt64, iter := attrs["r"], attrs["s"], attrs["i"]
		if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
			return "", errors.New("scram: server nonce does not extend the client nonce")
		}
		salt, err := base64.StdEncoding.DecodeString(salt64)
		if err != nil {
			return "", fmt.Errorf("scram: bad salt: %w", err)
		}
		n, err := strconv.Atoi(iter)
		if err != nil || n < 1 {
			return "", fmt.Errorf("scram: bad iteration count %q", iter)
		}
		c.saltedPass, err = pbkdf2.Key(c.newHash, c.pass, salt, n, c.newHash().Size())
		if err != nil {
			return "", fmt.Errorf("scram: %w", err)
		}
		final := "c=biws,r=" + nonce
		c.authMessage = c.clientFirst + "," + challenge + "," + final
		clientKey := c.hmac(c.saltedPass, "Client Key")
		h := c.newHash()
		h.Write(clientKey)
		sig := c.hmac(h.Sum(nil), c.authMessage)
		proof := make([]byte, len(clientKey))
		for i := range clientKey {
			proof[i] = clientKey[i] ^ sig[i]
		}
		return final + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
	case 2:
		c.step++
		attrs := parseSCRAM(challenge)
		if e, ok := attrs["e"]; ok {
			return "", fmt.Errorf("scram: server error %q", e)
		}
		want := c.hmac(c.hmac(c.saltedPass, "Server Key"), c.authMessage)
		got, err := base64.StdEncoding.DecodeString(attrs["v"])
		if err != nil || !hmac.Equal(got, want) {
			return "", errors.New("scram: server signature does not verify")
		}
		c.done = true
		return "", nil
	}
	return "", errors.New("scram: unexpected challenge after the exchange ended")
}

func (c *scramClient) Done() bool { return c.done }

func (c *scramClient) hmac(key []byte, msg string) []byte {
	m := hmac.New(c.newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func parseSCRAM(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
