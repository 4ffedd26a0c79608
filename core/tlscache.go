package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
)

// What every connection of a run would otherwise redo: reading and parsing
// the endpoints' CA file, and a full TLS handshake with certificate
// verification. The CA pool is parsed once per version of the file (its
// size and modification time), and each server gets a TLS session cache,
// so the second and later connections resume the session (RFC 8446 2.2):
// no certificate chain to send, sign or verify.

// sessionCacheSize bounds each server's session cache.
const sessionCacheSize = 512

var (
	caPools       sync.Map // CA file version -> *x509.CertPool
	sessionCaches sync.Map // trust + server -> tls.ClientSessionCache
)

// caVersion names a version of the CA file ("" for the system roots).
func (e Endpoints) caVersion() (string, error) {
	if e.CAFile == "" {
		return "", nil
	}
	fi, err := os.Stat(e.CAFile)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s\x00%d\x00%d", e.CAFile, fi.Size(), fi.ModTime().UnixNano()), nil
}

// caPool is the parsed CA file of the endpoints, read once per version
// (caVersion's answer, which the caller has already asked for).
func (e Endpoints) caPool(version string, versionErr error) (*x509.CertPool, error) {
	if versionErr == nil {
		if p, ok := caPools.Load(version); ok {
			return p.(*x509.CertPool), nil
		}
	}
	pem, err := ReadUserFile(context.Background(), e.CAFile, caFile) // bounded: a regular file of at most 1 MiB
	if err != nil {
		return nil, &FindingError{Finding: caFileUnreadableFinding(e.CAFile), Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &FindingError{Finding: caFileNoPEMFinding(e.CAFile)}
	}
	if versionErr == nil && version != "" {
		caPools.Store(version, pool)
	}
	return pool, nil
}

// sessionCache is the TLS session cache for a server under the endpoints'
// trust: a session verified under one CA file is never resumed under
// another.
func (e Endpoints) sessionCache(version, hostport string) tls.ClientSessionCache {
	key := version + "\x00" + hostport
	if c, ok := sessionCaches.Load(key); ok {
		return c.(tls.ClientSessionCache)
	}
	c, _ := sessionCaches.LoadOrStore(key, tls.NewLRUClientSessionCache(sessionCacheSize))
	return c.(tls.ClientSessionCache)
}
