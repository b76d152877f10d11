package vchwire

import (
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The endpoint's secrets (the vSphere password its backend logs in with, the TLS server key) never appear
// in extraConfig in clear, which anyone who may read the VM can read through the vSphere API. As in VIC,
// they are sealed with a key only the endpoint VM can read: the VM's private key lives in KeySecretKey,
// a guestinfo key ESXi keeps in the VM's .vmx file and hands to the guest but leaves out of every API read
// (VIC kept its secret key there for the same reason). Its public half, KeyPublicKey, is in extraConfig,
// so vice-machine can seal new values (a reissued server key) without ever reading the private key back.
//
// A value is sealed with HPKE (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM), in base
// mode to the VM's public key, and bound to its purpose (the HPKE info), so a value sealed as one secret
// never opens as another.
const (
	// KeySecretKey holds the endpoint's private key (SecretKey.String). vice-machine writes it once, in the
	// spec that creates the VM; the appliance reads it like any guestinfo key.
	KeySecretKey = "guestinfo.ovfEnv"
	// KeyPublicKey holds the public key the endpoint's secrets are sealed to (PublicKey.String).
	KeyPublicKey = ConfigPrefix + "appliance.publickey"
)

// Purposes of sealed values: the HPKE info each is bound to.
const (
	SecretTargetPassword = "target password" // ApplianceConfig.TargetPassword
	SecretServerKey      = "tls server key"  // ApplianceTLS.ServerKey
)

// The text forms of the keys and of sealed values; the number is the suite, so a later one can be told
// apart.
const (
	secretKeyPrefix = "vice-secret-key-1:"
	publicKeyPrefix = "vice-public-key-1:"
	sealedPrefix    = "vice-sealed-1:"
	infoPrefix      = "vice appliance secret 1\x00"
)

// ErrNotSealed says a value that must be sealed is not (it is empty, or in clear).
var ErrNotSealed = errors.New("not a sealed value")

// Sealed is a secret sealed to an endpoint's public key: "vice-sealed-1:" and the base64 of the HPKE
// encapsulated key followed by the ciphertext.
type Sealed string

// IsSealed reports whether s has the form of a sealed value (it says nothing of the key it opens with).
func (s Sealed) IsSealed() bool { return strings.HasPrefix(string(s), sealedPrefix) }

func suite() (hpke.KEM, hpke.KDF, hpke.AEAD) {
	return hpke.DHKEM(ecdh.X25519()), hpke.HKDFSHA256(), hpke.AES256GCM()
}

func info(purpose string) []byte { return []byte(infoPrefix + purpose) }

// SecretKey is an endpoint VM's private key.
type SecretKey struct{ k hpke.PrivateKey }

// NewSecretKey makes a key for a new endpoint VM.
func NewSecretKey() (*SecretKey, error) {
	kem, _, _ := suite()
	k, err := kem.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("endpoint key: %w", err)
	}
	return &SecretKey{k: k}, nil
}

// ParseSecretKey reads KeySecretKey's value.
func ParseSecretKey(s string) (*SecretKey, error) {
	b, err := decodeWithPrefix(s, secretKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("endpoint key: %w", err)
	}
	kem, _, _ := suite()
	k, err := kem.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("endpoint key: %w", err)
	}
	return &SecretKey{k: k}, nil
}

// String is the key's value for KeySecretKey.
func (k *SecretKey) String() string {
	b, err := k.k.Bytes()
	if err != nil { // an X25519 key always serializes
		panic(err)
	}
	return secretKeyPrefix + base64.StdEncoding.EncodeToString(b)
}

// PublicKey is the key's public half.
func (k *SecretKey) PublicKey() *PublicKey { return &PublicKey{k: k.k.PublicKey()} }

// Open returns the plaintext of a value sealed to this key for purpose.
func (k *SecretKey) Open(purpose string, s Sealed) ([]byte, error) {
	if !s.IsSealed() {
		return nil, fmt.Errorf("%s: %w", purpose, ErrNotSealed)
	}
	b, err := decodeWithPrefix(string(s), sealedPrefix)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", purpose, err)
	}
	_, kdf, aead := suite()
	out, err := hpke.Open(k.k, kdf, aead, info(purpose), b)
	if err != nil {
		return nil, fmt.Errorf("%s: does not open with this endpoint's key (sealed for another VM, or damaged): %w", purpose, err)
	}
	return out, nil
}

// PublicKey is the public half of an endpoint VM's key: what vice-machine seals secrets to.
type PublicKey struct{ k hpke.PublicKey }

// ParsePublicKey reads KeyPublicKey's value.
func ParsePublicKey(s string) (*PublicKey, error) {
	b, err := decodeWithPrefix(s, publicKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("endpoint public key: %w", err)
	}
	kem, _, _ := suite()
	k, err := kem.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("endpoint public key: %w", err)
	}
	return &PublicKey{k: k}, nil
}

// String is the key's value for KeyPublicKey.
func (p *PublicKey) String() string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(p.k.Bytes())
}

// Seal seals plaintext for purpose to this key: only the holder of the private key opens it.
func (p *PublicKey) Seal(purpose string, plaintext []byte) (Sealed, error) {
	_, kdf, aead := suite()
	b, err := hpke.Seal(p.k, kdf, aead, info(purpose), plaintext)
	if err != nil {
		return "", fmt.Errorf("seal the %s: %w", purpose, err)
	}
	return Sealed(sealedPrefix + base64.StdEncoding.EncodeToString(b)), nil
}

func decodeWithPrefix(s, prefix string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), prefix)
	if !ok {
		return nil, fmt.Errorf("does not start with %q", prefix)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return b, nil
}

// SealTarget splits an SDK URL with credentials (https://user:pass@host/sdk) into the config's Target (the
// URL with the user alone) and TargetPassword (the password sealed to pub).
func SealTarget(pub *PublicKey, sdk *url.URL) (target string, password Sealed, err error) {
	u := *sdk
	var pass string
	if u.User != nil {
		pass, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	if pass != "" {
		if password, err = pub.Seal(SecretTargetPassword, []byte(pass)); err != nil {
			return "", "", err
		}
	}
	return u.String(), password, nil
}

// OpenTarget is the SDK URL with credentials the backend logs in with: Target with TargetPassword opened
// with k. A Target that carries a password in clear is refused: vice-machine never writes one.
func (c *ApplianceConfig) OpenTarget(k *SecretKey) (string, error) {
	u, err := url.Parse(c.Target)
	if err != nil {
		return "", fmt.Errorf("target: %w", errors.Unwrap(err))
	}
	if u.User != nil {
		if _, set := u.User.Password(); set {
			return "", errors.New("the target carries a password in clear; it must be sealed (targetPassword)")
		}
	}
	if c.TargetPassword == "" {
		return u.String(), nil
	}
	if k == nil {
		return "", fmt.Errorf("%s: no endpoint key (%s) to open it with", SecretTargetPassword, KeySecretKey)
	}
	pass, err := k.Open(SecretTargetPassword, c.TargetPassword)
	if err != nil {
		return "", err
	}
	user := ""
	if u.User != nil {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, string(pass))
	return u.String(), nil
}
