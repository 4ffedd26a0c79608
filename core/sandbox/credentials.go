package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// stableID is a Google-looking numeric account ID derived from the e-mail.
func stableID(email string) string {
	sum := sha256.Sum256([]byte("sandbox-user:" + email))
	n := binary.BigEndian.Uint64(sum[:8]) % 1e18
	return fmt.Sprintf("10%019d", n)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randDigits(n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		v, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteByte(byte('0' + v.Int64()))
	}
	return sb.String()
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func randFrom(alphabet string, n int) string {
	b := make([]byte, n)
	if l := len(alphabet); l > 0 && l <= 256 && l&(l-1) == 0 {
		// A power of two: the low bits of a random byte are uniform, and
		// one read serves the whole string (an access token is 1,024).
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = alphabet[int(b[i])&(l-1)]
		}
		return string(b)
	}
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

func (s *Sandbox) makeTLS() error {
	now := time.Now()
	ca, caKey, err := core.IssueCertificate(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "mailoauth sandbox CA", Organization: []string{"mailoauth sandbox"}},
		NotBefore:             now.Add(-48 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, nil, nil)
	if err != nil {
		return err
	}
	leafTmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		NotBefore:   now.Add(-48 * time.Hour),
		NotAfter:    now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	if ip := net.ParseIP(s.opts.Addr); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
	} else if ip == nil && s.opts.Addr != "localhost" {
		leafTmpl.DNSNames = append(leafTmpl.DNSNames, s.opts.Addr)
	}
	leaf, leafKey, err := core.IssueCertificate(leafTmpl, ca, caKey)
	if err != nil {
		return err
	}
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	s.tlsConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{leaf.Raw, ca.Raw},
			PrivateKey:  leafKey,
		}},
	}
	return nil
}

type serviceAccountFile struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

func (s *Sandbox) makeCredentialFiles() error {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return err
	}
	sa := serviceAccountFile{
		Type:                    "service_account",
		ProjectID:               s.projectID,
		PrivateKeyID:            s.keyID,
		PrivateKey:              string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ClientEmail:             s.clientEmail,
		ClientID:                s.clientID,
		AuthURI:                 s.endpoints.AuthURL,
		TokenURI:                s.endpoints.TokenURL,
		AuthProviderX509CertURL: "https://www.googleapis.com/oauth2/v1/certs",
		ClientX509CertURL:       "https://www.googleapis.com/robot/v1/metadata/x509/" + url.PathEscape(s.clientEmail),
		UniverseDomain:          "googleapis.com",
	}
	if s.saJSON, err = json.MarshalIndent(sa, "", "  "); err != nil {
		return err
	}
	s.saJSON = append(s.saJSON, '\n')
	type web struct {
		ClientID                string   `json:"client_id"`
		ProjectID               string   `json:"project_id"`
		AuthURI                 string   `json:"auth_uri"`
		TokenURI                string   `json:"token_uri"`
		AuthProviderX509CertURL string   `json:"auth_provider_x509_cert_url"`
		ClientSecret            string   `json:"client_secret"`
		RedirectURIs            []string `json:"redirect_uris"`
	}
	oc := struct {
		Web web `json:"web"`
	}{web{
		ClientID:                randDigits(12) + "-" + randFrom(alnum, 32) + ".apps.googleusercontent.com",
		ProjectID:               s.projectID,
		AuthURI:                 s.endpoints.AuthURL,
		TokenURI:                s.endpoints.TokenURL,
		AuthProviderX509CertURL: "https://www.googleapis.com/oauth2/v1/certs",
		ClientSecret:            "GOCSPX-" + randFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 28),
		// A loopback URI without a port: any port matches (RFC 8252 7.3).
		RedirectURIs: []string{"http://127.0.0.1/callback"},
	}}
	s.oauth = newOAuthApp(oc.Web.ClientID, oc.Web.ClientSecret, oc.Web.RedirectURIs, s.opts.AutoConsent)
	s.oauthJSON, err = json.Marshal(oc)
	return err
}

func (s *Sandbox) writeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	caFile := filepath.Join(abs, "ca.pem")
	s.endpoints.CAFile = caFile
	ep, err := json.MarshalIndent(s.endpoints, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"service-account.json", s.saJSON, 0o600},
		{"oauth-client.json", s.oauthJSON, 0o600},
		{"ca.pem", s.caPEM, 0o644},
		{"endpoints.json", append(ep, '\n'), 0o644},
	} {
		p := filepath.Join(abs, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	return nil
}
