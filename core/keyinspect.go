package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// Where the Cloud console shows the two values a .p12 key does not hold.
const (
	p12EmailWhere = ServiceAccountsConsolePath + " > (the account) > Email"
	p12IDWhere    = ServiceAccountsConsolePath + " > (the account) > Unique ID, the same number as its \"OAuth 2 Client ID\", 21 digits"
)

// CertificateInfo is what a .p12 key's certificate says about the key;
// Google ends the validity of a service-account key's certificate when the
// key expires (9999-12-31 for a key that never does).
type CertificateInfo struct {
	Serial    string    `json:"serial"`
	Subject   string    `json:"subject,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Expired   bool      `json:"expired"`
}

// MissingValue is a value the host product and mailoauth need that the
// credential file does not hold, and where to read it.
type MissingValue struct {
	Name  string `json:"name"`
	Flag  string `json:"flag"`
	Where string `json:"where"`
}

// KeyInspection is what `key inspect` reports about a credential file.
type KeyInspection struct {
	Credential  *Credential      `json:"credential"`
	Description string           `json:"description"`
	Certificate *CertificateInfo `json:"certificate,omitempty"`
	// Missing lists what a .p12 key does not hold (the service account's
	// e-mail and client ID) and was not given.
	Missing []MissingValue `json:"missing,omitempty"`
	// DelegationLink pre-fills the Admin console's delegation form for a
	// service account whose client ID is known.
	DelegationLink string `json:"delegation_link,omitempty"`
}

// MissingNote is the sentence before the list of missing values.
func (k *KeyInspection) MissingNote() string {
	if len(k.Missing) == 0 {
		return ""
	}
	return "This .p12 file opened and holds the service account's key, but a .p12 file holds neither the service account's e-mail nor its client ID, and the host product and mailoauth need both. Read what was not given in the Cloud console and pass it with its flag (or enter it at the wizard's step 3):"
}

// InspectCredentialFile reads a credential file for `key inspect`. Unlike
// LoadCredentialFile it accepts a .p12 key without the e-mail and client ID
// (a .p12 never holds them) and lists them as missing instead.
func InspectCredentialFile(ctx context.Context, path string, opts CredentialOptions, scopes []string) (*KeyInspection, error) {
	data, err := ReadUserFile(ctx, path, CredentialFile)
	if err != nil {
		return nil, err
	}
	var k KeyInspection
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == 0x30 {
		c, cert, err := decodeP12(data, opts)
		if err != nil {
			return nil, err
		}
		k.Credential, k.Certificate = c, certificateInfo(cert, time.Now())
		if c.ClientEmail == "" {
			k.Missing = append(k.Missing, MissingValue{Name: "client e-mail", Flag: "--client-email", Where: p12EmailWhere})
		}
		if c.ClientID == "" {
			k.Missing = append(k.Missing, MissingValue{Name: "client ID", Flag: "--client-id", Where: p12IDWhere})
		}
	} else if k.Credential, err = ParseCredential(data, opts); err != nil {
		return nil, err
	}
	k.Description = k.Credential.Kind.Describe()
	if k.Credential.IsServiceAccount() && k.Credential.ClientID != "" {
		k.DelegationLink = DelegationLink(k.Credential.ClientID, scopes)
	}
	return &k, nil
}

func certificateInfo(cert *x509.Certificate, now time.Time) *CertificateInfo {
	if cert == nil {
		return nil
	}
	ci := &CertificateInfo{Subject: cert.Subject.CommonName, NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(), Expired: now.After(cert.NotAfter)}
	if cert.SerialNumber != nil {
		ci.Serial = fmt.Sprintf("%X", cert.SerialNumber)
	}
	return ci
}
