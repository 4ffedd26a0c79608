package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func diagnoseTLS(err error, d DiagContext, server string) *Finding {
	var (
		ua  x509.UnknownAuthorityError
		uap *x509.UnknownAuthorityError
		he  x509.HostnameError
		hep *x509.HostnameError
		ci  x509.CertificateInvalidError
		cip *x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
		rec tls.RecordHeaderError
	)
	var reason string
	switch {
	case errors.As(err, &ua), errors.As(err, &uap):
		reason = "it is signed by an unknown authority"
	case errors.As(err, &he), errors.As(err, &hep):
		reason = "it is not valid for that host name"
	case errors.As(err, &ci), errors.As(err, &cip):
		reason = "it is expired or not valid"
	case errors.As(err, &cve):
		reason = "it does not verify"
	case errors.As(err, &rec):
		return notTLSFinding(server, d.who())
	default:
		if !strings.Contains(err.Error(), "x509:") && !strings.Contains(err.Error(), "certificate") {
			return nil
		}
		reason = "it does not verify"
	}
	return untrustedCertFinding(server, reason)
}

func diagnoseNet(err error, server string) *Finding {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var reason string
	switch {
	case errors.As(err, &dnsErr):
		reason = fmt.Sprintf("the name %s does not resolve", dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		reason = "no route to the host"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		reason = "the server closed the connection"
	case errors.As(err, &opErr):
		reason = redact(opErr.Err.Error())
	default:
		return nil
	}
	return connectFailedFinding(server, reason)
}
