package core

import "fmt"

// The texts of the findings of setting up: the mailbox rule, the TLS
// cache and the upgrade (credentials have findings_credentials.go). The
// checks that raise them stay in their files; only the words live here.

// serviceAccountEnteredAsMailboxFinding is the service account's own address
// entered as a mailbox.
func serviceAccountEnteredAsMailboxFinding(email, domain string) *Finding {
	return NewFinding(CodeServiceAccountAsMailbox,
		fmt.Sprintf("%s is the service account itself, not a mailbox.", email),
		fmt.Sprintf("Enter a real mailbox, e.g. administrator@%s; the service account only acts on behalf of mailboxes.", orExample(domain)))
}

// mailboxOutsideDomainFinding is a mailbox outside the domain of a profile
// that can serve only its own domain.
func mailboxOutsideDomainFinding(email, domain string) *Finding {
	return NewFinding(CodeMailboxOutsideDomain,
		fmt.Sprintf("%s is not in the domain %s.", email, domain),
		fmt.Sprintf("Use an address ending in @%s; for another domain's mailbox, switch this profile to an OAuth client (wizard step 3, or `mailoauth setup --client FILE`).",
			domain))
}

// outsideMailboxesKeptFinding refuses to replace the OAuth client of a
// profile holding n mailboxes outside domain (list names the first few).
func outsideMailboxesKeptFinding(domain string, n int, list string) *Finding {
	return NewFinding(CodeMailboxOutsideDomain,
		fmt.Sprintf("Profile %s holds %d mailbox(es) outside %s (%s) that only its OAuth client can serve, so its credential was not replaced.", domain, n, domain, list),
		fmt.Sprintf("Remove them first with `mailoauth --profile %s mailbox rm ADDR` (or set them up in a profile of their own with an OAuth client), then load the new credential again.", domain))
}

// caFileUnreadableFinding is an endpoints file's ca_file that cannot be read.
func caFileUnreadableFinding(caFile string) *Finding {
	return NewFinding(CodeTLSUntrusted,
		fmt.Sprintf("The CA file %s named in the endpoints cannot be read.", caFile),
		fmt.Sprintf("Restore %s (the sandbox writes it as ca.pem in its --dir) or correct ca_file in the endpoints file.", caFile))
}

// caFileNoPEMFinding is an endpoints file's ca_file without a certificate.
func caFileNoPEMFinding(caFile string) *Finding {
	return NewFinding(CodeTLSUntrusted,
		fmt.Sprintf("The CA file %s holds no PEM certificate.", caFile),
		"Point ca_file at the PEM file of the CA that signed the server certificates.")
}

// insecureTransportFinding is a legacy server (name, at addr) used without
// encryption; now is where the upgrade connects instead, withPassword how
// many mailboxes sent a password over it.
func insecureTransportFinding(name, addr, now string, withPassword int) *Finding {
	summary := fmt.Sprintf("The legacy %s server %s was used without encryption (security none).", name, addr)
	fix := fmt.Sprintf("The upgrade connects to %s with TLS instead.", now)
	if withPassword > 0 {
		summary = fmt.Sprintf("The legacy %s server %s was used without encryption (security none), so the passwords of %d mailbox(es) crossed the network in clear text.", name, addr, withPassword)
		fix += " Change those passwords in the Admin console (or turn password sign-in off) once every mailbox is on OAuth."
	}
	return NewFinding(CodeInsecureTransport, summary, fix)
}
