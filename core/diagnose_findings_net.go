package core

import (
	"fmt"
	"time"
)

// The texts of the network findings: timeouts, TLS and connection
// failures, each naming the server.

// notTLSFinding: server answered something other than TLS.
func notTLSFinding(server, who string) *Finding {
	return NewFinding(CodeTLSUntrusted,
		fmt.Sprintf("%s did not answer with TLS for %s.", server, who),
		fmt.Sprintf("Check the port and the security setting for %s in the endpoints file (imap_security / smtp_security: tls for 993/465, starttls for 587).", server))
}

// untrustedCertFinding: server's certificate does not verify; reason says
// why ("it is expired or not valid").
func untrustedCertFinding(server, reason string) *Finding {
	return NewFinding(CodeTLSUntrusted,
		fmt.Sprintf("The TLS certificate of %s is not trusted: %s.", server, reason),
		"Set ca_file in the endpoints file to the PEM of the CA that signed it (the sandbox writes ca.pem in its --dir), or install that CA in the system trust store.")
}

// connectFailedFinding: no connection to server; reason says why
// ("connection refused").
func connectFailedFinding(server, reason string) *Finding {
	return NewFinding(CodeConnectFailed,
		fmt.Sprintf("Cannot connect to %s: %s.", server, reason),
		fmt.Sprintf("Check that the host name resolves (DNS) and that the firewall lets this machine open TCP connections to %s, then retry.", server))
}

// timeoutFinding: server did not answer within limit (0: no limit known).
func timeoutFinding(server, who string, limit time.Duration) *Finding {
	within := ""
	if limit > 0 {
		within = " within " + limit.String()
	}
	return NewFinding(CodeTimeout,
		fmt.Sprintf("%s did not answer%s while checking %s.", server, within, who),
		fmt.Sprintf("Check that a firewall or proxy lets this machine reach %s and that the server is up, then retry (on a slow link, raise the check timeout, e.g. `mailoauth test --timeout 60s`).", server))
}
