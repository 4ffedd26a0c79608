package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/mailoauth/mailoauth/core"
)

// KeyEnv is the environment variable that, when set, holds the sealing key
// (base64 of 32 bytes) and wins over the key file.
const KeyEnv = "MAILOAUTH_KEY"

// sealFormat prefixes every sealed value: XChaCha20-Poly1305, random
// 24-byte nonce, additional data = record path.
const sealFormat byte = 1

// keyCheckPlain is sealed into the meta bucket so a wrong key is detected on
// Open rather than on the first secret read.
var keyCheckPlain = []byte("mailoauth store key check v1")

const generateHint = "head -c32 /dev/urandom | base64"

// loadKey sets s.aead from MAILOAUTH_KEY, the key file, or a new key file.
// initialised tells whether the database already holds sealed data, in which
// case a missing key file is an error rather than a reason to make one.
func (s *Store) loadKey(keyPath string, initialised bool) error {
	if v, ok := os.LookupEnv(KeyEnv); ok && strings.TrimSpace(v) != "" {
		key, err := decodeKey(v)
		if err != nil {
			return errorf(ErrBadKey, "%s is not base64 of 32 bytes (%v); generate one with `%s`", KeyEnv, err, generateHint)
		}
		s.keySource = KeyEnv
		return s.setKey(key)
	}
	s.keySource = keyPath
	data, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		key, err := decodeKey(string(data))
		if err != nil {
			return errorf(ErrBadKey, "key file %s is not base64 of 32 bytes (%v); restore the key file of store %s, or set %s", keyPath, err, s.path, KeyEnv)
		}
		if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(keyPath, 0o600); err != nil && !s.readOnly {
				return fmt.Errorf("key file %s is readable by others and cannot be made private: %v; run chmod 600 %s", keyPath, core.WithoutPath(err), keyPath)
			}
		}
		return s.setKey(key)
	case !errors.Is(err, fs.ErrNotExist):
		return errorf(ErrBadKey, "cannot read key file %s: %v; run %s as the user that owns it, or set %s", keyPath, core.WithoutPath(err), s.program, KeyEnv)
	case initialised:
		return errorf(ErrBadKey, "key file %s of store %s is missing; restore it from your backup or set %s to the store's key", keyPath, s.path, KeyEnv)
	case s.readOnly:
		return errorf(ErrBadKey, "key file %s is missing; open store %s once without read-only to create it", keyPath, s.path)
	}
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("cannot generate a key for store %s: %v; set %s (generate one with `%s`)", s.path, err, KeyEnv, generateHint)
	}
	if err := writeKeyFile(keyPath, key); err != nil {
		return err
	}
	return s.setKey(key)
}

func writeKeyFile(keyPath string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return fmt.Errorf("cannot create the directory of key file %s: %v; create it or pass another key path", keyPath, core.WithoutPath(err))
	}
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create key file %s: %v; check the directory's permissions or set %s", keyPath, core.WithoutPath(err), KeyEnv)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(keyPath)
		return fmt.Errorf("cannot write key file %s: %v; check the disk", keyPath, err)
	}
	return nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("%d bytes", len(key))
	}
	return key, nil
}

func (s *Store) setKey(key []byte) error {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return errorf(ErrBadKey, "the key from %s is unusable (%v); generate one with `%s`", s.keySource, err, generateHint)
	}
	s.aead = aead
	return nil
}

func (s *Store) verifyKey(check []byte) error {
	plain, err := s.unsealRaw(metaBucket+"/"+metaKeyCheck, check)
	if err == nil && bytes.Equal(plain, keyCheckPlain) {
		return nil
	}
	if s.keySource == KeyEnv {
		return errorf(ErrWrongKey, "%s does not open store %s (it was sealed with another key); set %s to the key the store was created with, or unset it to use the key file", KeyEnv, s.path, KeyEnv)
	}
	return errorf(ErrWrongKey, "key file %s does not open store %s (it was sealed with another key); restore the key file that belongs to this store, or set %s to it", s.keySource, s.path, KeyEnv)
}

// seal encrypts plain for the record at ad (bucket path + "/" + key).
func (s *Store) seal(ad string, plain []byte) ([]byte, error) {
	sealed, err := sealWith(s.aead, ad, plain)
	if err != nil {
		return nil, fmt.Errorf("cannot seal %s: no randomness (%v); retry", ad, err)
	}
	return sealed, nil
}

func (s *Store) unsealRaw(ad string, sealed []byte) ([]byte, error) {
	return unsealWith(s.aead, ad, sealed)
}

// unseal decrypts the record at ad, with a sentence for the user on failure.
func (s *Store) unseal(ad string, sealed []byte) ([]byte, error) {
	plain, err := s.unsealRaw(ad, sealed)
	if err != nil {
		return nil, fmt.Errorf("sealed value %s in store %s cannot be opened (damaged or moved from another record); enter it again, or restore the store from a backup", ad, s.path)
	}
	return plain, nil
}
