package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeySize is the length of the at-rest key (AES-256).
const KeySize = 32

// sealVersion prefixes every sealed value so the format can change later.
const sealVersion = 1

// ParseKey decodes a configured key: 64 hex digits or base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, errors.New("store key must be 32 bytes as 64 hex digits or base64")
}

// loadOrCreateKey reads the key file, or creates it with a random key.
// A key file others can read is refused: it unlocks every photo.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := make([]byte, KeySize)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) { // another process won the race
				return loadOrCreateKey(path)
			}
			return nil, fmt.Errorf("create key file: %w", err)
		}
		_, err = f.WriteString(hex.EncodeToString(k) + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("write key file: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("store key must be %d bytes, got %d", KeySize, len(key))
	}
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(c)
}

// sealWith encrypts plain; bucket and key are authenticated, so a sealed
// value moved to another item does not open.
func sealWith(aead cipher.AEAD, plain, bucket, key []byte) []byte {
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plain, aad(bucket, key))
}

func openWith(aead cipher.AEAD, sealed, bucket, key []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("sealed value is malformed")
	}
	return aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad(bucket, key))
}

func aad(bucket, key []byte) []byte { return join(bucket, []byte{0}, key) }

func (db *DB) seal(plain, bucket, key []byte) []byte { return sealWith(db.aead, plain, bucket, key) }

func (db *DB) open(sealed, bucket, key []byte) ([]byte, error) {
	p, err := openWith(db.aead, sealed, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("decrypt a value in %s: %w", bucket, err)
	}
	return p, nil
}
