// Package fieldcrypt implements the `Encryption` object of Tencent FaceID
// requests (reference §4, seed 003): the caller encrypts Name/IdCard with a
// random symmetric key (AES-256-CBC or SM4-GCM) and sends that key encrypted
// with Heshen's public key (RSA PKCS#1 v1.5 or SM2 C1C3C2). Heshen's key
// pairs are generated once into the data directory.
package fieldcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"

	"heshen/engine"
)

// Algorithms.
const (
	AES256CBC = "AES-256-CBC" // the default when Algorithm is empty
	SM4GCM    = "SM4-GCM"
)

// Codes returned for bad Encryption objects.
const (
	CodeUnsupportField = "InvalidParameter.UnsupportEncryptField"
	CodeDecrypt        = "FailedOperation.DecryptSystemError"
)

// Encryption is the request's Encryption object, field names as Tencent's.
type Encryption struct {
	EncryptList    []string `json:"EncryptList"`
	CiphertextBlob string   `json:"CiphertextBlob"`
	Iv             string   `json:"Iv"`
	Algorithm      string   `json:"Algorithm,omitempty"`
	TagList        []string `json:"TagList,omitempty"`
}

// Key files in the data directory.
const (
	rsaFile = "fieldcrypt-rsa.pem"
	sm2File = "fieldcrypt-sm2.pem"
)

// Keys are Heshen's private keys for unwrapping callers' symmetric keys.
type Keys struct {
	RSA *rsa.PrivateKey
	SM2 *sm2.PrivateKey
}

// LoadOrCreate reads the key pairs from dir, generating and saving (0600)
// whichever is missing.
func LoadOrCreate(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fieldcrypt keys: %w", err)
	}
	var k Keys
	rsaPath, sm2Path := filepath.Join(dir, rsaFile), filepath.Join(dir, sm2File)
	if b, err := os.ReadFile(rsaPath); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("fieldcrypt: %s: no PEM block", rsaPath)
		}
		if k.RSA, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
			return nil, fmt.Errorf("fieldcrypt: %s: %w", rsaPath, err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if k.RSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
		if err := writeKey(rsaPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.RSA)); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("fieldcrypt: %w", err)
	}
	if b, err := os.ReadFile(sm2Path); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("fieldcrypt: %s: no PEM block", sm2Path)
		}
		key, err := smx509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: %s: %w", sm2Path, err)
		}
		var ok bool
		if k.SM2, ok = key.(*sm2.PrivateKey); !ok {
			return nil, fmt.Errorf("fieldcrypt: %s: not an SM2 key", sm2Path)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if k.SM2, err = sm2.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
		der, err := smx509.MarshalPKCS8PrivateKey(k.SM2)
		if err != nil {
			return nil, err
		}
		if err := writeKey(sm2Path, "PRIVATE KEY", der); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("fieldcrypt: %w", err)
	}
	return &k, nil
}

func writeKey(path, typ string, der []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("fieldcrypt: %w", err)
	}
	return os.Rename(tmp, path)
}

// RSAPublicPEM is the RSA public key as a PKCS#1 PEM; the console shows it
// base64-encoded, as Tencent's console does (seed 003).
func (k *Keys) RSAPublicPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.RSA.PublicKey)})
}

// SM2PublicPEM is the SM2 public key as a PKIX ("PKCS8" in the seed) PEM.
func (k *Keys) SM2PublicPEM() ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(&k.SM2.PublicKey)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseRSAPublicKey reads a public key as the console gives it: PEM, or
// base64 of PEM (PKCS#1 or PKIX).
func ParseRSAPublicKey(s []byte) (*rsa.PublicKey, error) {
	blk := decodePEM(s)
	if blk == nil {
		return nil, errors.New("fieldcrypt: no PEM block")
	}
	if k, err := x509.ParsePKCS1PublicKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("fieldcrypt: not an RSA public key")
	}
	return rk, nil
}

// ParseSM2PublicKey reads an SM2 public key: PEM, or base64 of PEM.
func ParseSM2PublicKey(s []byte) (*ecdsa.PublicKey, error) {
	blk := decodePEM(s)
	if blk == nil {
		return nil, errors.New("fieldcrypt: no PEM block")
	}
	k, err := smx509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ek) {
		return nil, errors.New("fieldcrypt: not an SM2 public key")
	}
	return ek, nil
}

func decodePEM(s []byte) *pem.Block {
	s = bytes.TrimSpace(s)
	if blk, _ := pem.Decode(s); blk != nil {
		return blk
	}
	if b, err := base64.StdEncoding.DecodeString(string(s)); err == nil {
		blk, _ := pem.Decode(b)
		return blk
	}
	return nil
}

func unsupported(zh, format string, args ...any) *engine.Error {
	return engine.Errorf(CodeUnsupportField, zh, format, args...)
}

func decryptFailed(format string, args ...any) *engine.Error {
	return engine.Errorf(CodeDecrypt, "解密失败", format, args...)
}

// Decrypt replaces, in place, each field named in enc.EncryptList with its
// plaintext. fields maps the names the action accepts encrypted to their
// values; a listed name not in fields is UnsupportEncryptField.
func (k *Keys) Decrypt(enc *Encryption, fields map[string]*string) error {
	if enc == nil {
		return nil
	}
	if len(enc.EncryptList) == 0 {
		return engine.Errorf(engine.CodeMissingParameter, "缺少参数 Encryption.EncryptList", "Encryption.EncryptList is empty")
	}
	for i, name := range enc.EncryptList {
		if _, ok := fields[name]; !ok {
			return unsupported("字段 "+name+" 不支持加密", "field %q may not be encrypted in this action", name)
		}
		if slices.Contains(enc.EncryptList[:i], name) {
			return engine.Errorf(engine.CodeInvalidParameterValue, "EncryptList 重复", "field %q listed twice in EncryptList", name)
		}
	}
	if enc.CiphertextBlob == "" || enc.Iv == "" {
		return engine.Errorf(engine.CodeMissingParameter, "缺少参数 CiphertextBlob 或 Iv", "Encryption needs CiphertextBlob and Iv")
	}
	blob, err := base64.StdEncoding.DecodeString(enc.CiphertextBlob)
	if err != nil {
		return decryptFailed("CiphertextBlob is not base64")
	}
	switch enc.Algorithm {
	case "", AES256CBC:
		return k.decryptAES(enc, blob, fields)
	case SM4GCM:
		return k.decryptSM4(enc, blob, fields)
	}
	return engine.Errorf(engine.CodeInvalidParameterValue, "不支持的加密算法", "unsupported Encryption.Algorithm %q (want %s or %s)", enc.Algorithm, AES256CBC, SM4GCM)
}

func (k *Keys) decryptAES(enc *Encryption, blob []byte, fields map[string]*string) error {
	if k.RSA == nil {
		return decryptFailed("no RSA key configured")
	}
	key, err := rsaDecryptChunked(k.RSA, blob)
	if err != nil || len(key) != 32 {
		return decryptFailed("CiphertextBlob does not unwrap to a 32-byte key with this server's RSA key")
	}
	return openAES(key, enc, fields)
}

// openAES decrypts the listed fields with the unwrapped AES key.
func openAES(key []byte, enc *Encryption, fields map[string]*string) error {
	iv, ok := aesIV(enc.Iv)
	if !ok {
		return decryptFailed("Iv must be 16 characters or base64 of 16 bytes")
	}
	block, _ := aes.NewCipher(key)
	for _, name := range enc.EncryptList {
		ct, err := base64.StdEncoding.DecodeString(*fields[name])
		if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			return decryptFailed("field %q is not base64 of whole AES blocks", name)
		}
		pt := make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
		pt, ok := unpad(pt, aes.BlockSize)
		if !ok {
			return decryptFailed("field %q: bad padding (wrong key or Iv)", name)
		}
		*fields[name] = string(pt)
	}
	return nil
}

// rsaDecryptChunked undoes the official helper's chunked PKCS#1 v1.5
// encryption (one modulus-sized block per chunk).
func rsaDecryptChunked(k *rsa.PrivateKey, blob []byte) ([]byte, error) {
	n := k.Size()
	if len(blob) == 0 || len(blob)%n != 0 {
		return nil, errors.New("bad length")
	}
	var out []byte
	for i := 0; i < len(blob); i += n {
		p, err := rsa.DecryptPKCS1v15(nil, k, blob[i:i+n])
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

// aesIV accepts the documented 16-character IV and the official helper's
// base64 of 16 random bytes.
func aesIV(s string) ([]byte, bool) {
	if len(s) == aes.BlockSize {
		return []byte(s), true
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == aes.BlockSize {
		return b, true
	}
	return nil, false
}

func unpad(b []byte, size int) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	p := int(b[len(b)-1])
	if p == 0 || p > size || p > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-p:] {
		if int(c) != p {
			return nil, false
		}
	}
	return b[:len(b)-p], true
}

func (k *Keys) decryptSM4(enc *Encryption, blob []byte, fields map[string]*string) error {
	if k.SM2 == nil {
		return decryptFailed("no SM2 key configured")
	}
	key, err := sm2.Decrypt(k.SM2, blob) // C1C3C2, as the seed requires
	if err != nil || len(key) != 16 {
		return decryptFailed("CiphertextBlob does not unwrap to a 16-byte key with this server's SM2 key")
	}
	return openSM4(key, enc, fields)
}

// openSM4 decrypts the listed fields with the unwrapped SM4 key.
func openSM4(key []byte, enc *Encryption, fields map[string]*string) error {
	if len(enc.TagList) != len(enc.EncryptList) {
		return engine.Errorf(engine.CodeInvalidParameterValue, "TagList 与 EncryptList 数量不一致",
			"SM4-GCM needs one TagList entry per EncryptList entry (%d != %d)", len(enc.TagList), len(enc.EncryptList))
	}
	block, _ := sm4.NewCipher(key)
	ivs := sm4IVs(enc.Iv)
	if len(ivs) == 0 {
		return decryptFailed("Iv must be base64 of 12 bytes or 12/16 raw characters")
	}
	for i, name := range enc.EncryptList {
		ct, err1 := base64.StdEncoding.DecodeString(*fields[name])
		tag, err2 := base64.StdEncoding.DecodeString(enc.TagList[i])
		if err1 != nil || err2 != nil || len(tag) != 16 {
			return decryptFailed("field %q or its tag is not valid base64", name)
		}
		var pt []byte
		ok := false
		// GCM authenticates, so trying each reading of the Iv is safe: only
		// the one the caller used opens.
		for _, iv := range ivs {
			g, err := cipher.NewGCMWithNonceSize(block, len(iv))
			if err != nil {
				continue
			}
			if pt, err = g.Open(nil, iv, append(ct, tag...), nil); err == nil {
				ok = true
				break
			}
		}
		if !ok {
			return decryptFailed("field %q does not authenticate (wrong key, Iv or tag)", name)
		}
		*fields[name] = string(pt)
	}
	return nil
}

func sm4IVs(s string) [][]byte {
	var out [][]byte
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) >= 12 {
		out = append(out, b)
	}
	if len(s) == 12 || len(s) == 16 {
		out = append(out, []byte(s))
	}
	return out
}

// Seal is the client side (tests, the load generator, the console's
// examples): it encrypts fields with a fresh random key and wraps that key
// with pub (*rsa.PublicKey for AES-256-CBC, *ecdsa.PublicKey for SM4-GCM).
// Iv follows the official helper: base64 of random bytes.
func Seal(algorithm string, pub any, fields map[string]string, order []string) (*Encryption, map[string]string, error) {
	enc := &Encryption{Algorithm: algorithm, EncryptList: order}
	out := make(map[string]string, len(order))
	switch algorithm {
	case AES256CBC:
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, nil, errors.New("fieldcrypt: AES-256-CBC needs an RSA public key")
		}
		key, iv := randBytes(32), randBytes(16)
		blob, err := rsa.EncryptPKCS1v15(rand.Reader, rk, key)
		if err != nil {
			return nil, nil, err
		}
		enc.CiphertextBlob = base64.StdEncoding.EncodeToString(blob)
		enc.Iv = base64.StdEncoding.EncodeToString(iv)
		for _, name := range order {
			ct, err := aesCBCSeal(key, iv, []byte(fields[name]))
			if err != nil {
				return nil, nil, err
			}
			out[name] = base64.StdEncoding.EncodeToString(ct)
		}
	case SM4GCM:
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, nil, errors.New("fieldcrypt: SM4-GCM needs an SM2 public key")
		}
		key, iv := randBytes(16), randBytes(12)
		blob, err := sm2.Encrypt(rand.Reader, ek, key, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
		if err != nil {
			return nil, nil, err
		}
		enc.CiphertextBlob = base64.StdEncoding.EncodeToString(blob)
		enc.Iv = base64.StdEncoding.EncodeToString(iv)
		block, _ := sm4.NewCipher(key)
		g, _ := cipher.NewGCM(block)
		for _, name := range order {
			ct := g.Seal(nil, iv, []byte(fields[name]), nil)
			n := len(ct) - g.Overhead()
			out[name] = base64.StdEncoding.EncodeToString(ct[:n])
			enc.TagList = append(enc.TagList, base64.StdEncoding.EncodeToString(ct[n:]))
		}
	default:
		return nil, nil, fmt.Errorf("fieldcrypt: unknown algorithm %q", algorithm)
	}
	return enc, out, nil
}

// aesCBCSeal is AES-CBC with PKCS#7 padding.
func aesCBCSeal(key, iv, pt []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	p := aes.BlockSize - len(pt)%aes.BlockSize
	pt = append(append([]byte(nil), pt...), bytes.Repeat([]byte{byte(p)}, p)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	return ct, nil
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
