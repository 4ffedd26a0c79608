package proxy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// GenerateCertificate makes the proxy's self-signed certificate (ECDSA
// P-256, ten years) for localhost, 127.0.0.1, ::1, this host's name and the
// extra host names or addresses; clients pin it by its fingerprint.
func GenerateCertificate(extra ...string) (certPEM, keyPEM []byte, err error) {
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, extra...)
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "mailoauth proxy"},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Self-signed and its own CA, so a client can trust this one file.
		IsCA: true, BasicConstraintsValid: true,
	}
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	cert, key, err := core.IssueCertificate(tmpl, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// LoadCertificate parses a PEM certificate chain and its key (the store's
// or --cert/--key files; name says which in errors).
func LoadCertificate(certPEM, keyPEM []byte, name string) (tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("the proxy certificate %s cannot be used (%v); give a PEM certificate and its matching private key", name, err)
	}
	return c, nil
}

// Fingerprint is the SHA-256 fingerprint of the certificate's first (leaf)
// certificate, as colon-separated upper-case hex (the form openssl x509
// -fingerprint -sha256 and most clients show).
func Fingerprint(c tls.Certificate) string {
	if len(c.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(c.Certificate[0])
	hexs := make([]string, len(sum))
	for i, b := range sum {
		hexs[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hexs, ":")
}
