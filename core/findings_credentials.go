package core

// The finding texts (summary and fix) of credential files: service-account
// keys (JSON and .p12), OAuth clients and credentials of the wrong kind.
// The checks that raise them stay in credentials.go, credcheck.go,
// keyshape.go, oauthclient.go and p12limit.go; only the words live here,
// and a remedy said more than once is one constant.

import "fmt"

// Where to get a new file, in the words of the Cloud console.
const (
	// keyHowTo is how to get a new service-account key.
	keyHowTo = "download a new JSON key in " + ServiceAccountsConsolePath + " > (the account) > Keys > Add key > Create new key > JSON"
	// anyHowTo is the way to a new file while its kind is not known yet:
	// it may be a service-account key or an OAuth client.
	anyHowTo = "download it again: a service-account key from " + ServiceAccountsConsolePath + " > (the account) > Keys, an OAuth client from " + CredentialsSection + " > (the client) > Download JSON"
	// clientHowTo is where an OAuth client's ID and secret are shown.
	clientHowTo = credentialsConsolePath + " > (the OAuth 2.0 client ID)"
)

// The remedies several findings share.
const (
	// keyAsDownloadedFix: a service-account key file was changed after
	// Google wrote it.
	keyAsDownloadedFix = "Load the file exactly as Google downloaded it, or " + keyHowTo + "."
	// serviceAccountKeyFix: the key in the file is not one Google issued.
	serviceAccountKeyFix = "Load the key file of the service account, or " + keyHowTo + "."
	// jsonOrP12Fix: the file is not a credential file at all.
	jsonOrP12Fix = "Load the .json file Google downloaded (or a legacy .p12 key), or " + anyHowTo + "."
	// clientDownloadAgain: an OAuth client JSON is not what Google writes.
	clientDownloadAgain = "Download the client JSON again from " + credentialsConsolePath + "."
	// p12ValuesFix: the e-mail or client ID entered with a .p12 key holds
	// what no Google credential does.
	p12ValuesFix = "Enter the values as shown in the Cloud console."
)

// keyFinding is an invalid_key finding: a credential file or value that
// cannot be used as it is.
func keyFinding(summary, fix string) *Finding {
	return NewFinding(CodeInvalidKey, summary, fix)
}

// The file as a whole.

func emptyKeyFileFinding() *Finding {
	return keyFinding("The key file is empty.", "Load the JSON file Google downloaded, or "+anyHowTo+".")
}

func barePEMKeyFinding() *Finding {
	return keyFinding("This is a bare PEM private key, not the service-account JSON key file.", "Load the whole .json file Google downloaded (it holds the key together with client_email and client_id), or "+keyHowTo+".")
}

func notJSONNorP12Finding() *Finding {
	return keyFinding("The key file is neither JSON nor a .p12 key.", jsonOrP12Fix)
}

// jsonNotAnObjectFinding is a file of valid JSON whose value (kind, e.g.
// "a list") is not an object, the shape of every Google credential file.
func jsonNotAnObjectFinding(kind string) *Finding {
	return keyFinding(fmt.Sprintf("The file is JSON, but %s, not a key file: a Google key file is one JSON object ({\"type\": \"service_account\", ...}).", kind), jsonOrP12Fix)
}

func truncatedJSONFinding() *Finding {
	return keyFinding("The JSON key is truncated (it ends before its closing brace).", "Copy the whole file again, or "+anyHowTo+".")
}

func invalidJSONFinding(err error) *Finding {
	return keyFinding(fmt.Sprintf("The key file is not valid JSON (%v).", err), "Load the file exactly as Google downloaded it, or "+anyHowTo+".")
}

func noTypeFieldFinding() *Finding {
	return keyFinding("The JSON has no \"type\" field, so it is not a Google key file.", "Load the service-account key, whose first field is \"type\": \"service_account\", or "+keyHowTo+".")
}

// The fields of a service-account JSON key.

func keyFieldMissingFinding(name string) *Finding {
	return keyFinding(fmt.Sprintf("The service-account key has no %q field.", name), "The file was edited or cut short: load the file exactly as Google downloaded it, or "+keyHowTo+".")
}

// keyTokenURIFinding is a token_uri that checkSecureURL refused for why.
func keyTokenURIFinding(why error) *Finding {
	return keyFinding(fmt.Sprintf("The key's token_uri %v.", why), "Load the file exactly as Google downloaded it (token_uri is https://oauth2.googleapis.com/token), or "+keyHowTo+".")
}

func keyFieldNotStringFinding(name string) *Finding {
	return keyFinding(fmt.Sprintf("The service-account key's %q field is empty or not a string.", name), keyAsDownloadedFix)
}

func keyEmailNotAddressFinding(email string) *Finding {
	return keyFinding(fmt.Sprintf("The key's client_email %q is not an e-mail address.", email), keyAsDownloadedFix)
}

func keyClientIDNotNumericFinding(id string) *Finding {
	return keyFinding(fmt.Sprintf("The key's client_id %q is not the numeric client ID Google issues.", id), keyAsDownloadedFix)
}

// privateKeyDamagedFinding is a private_key field that is not a key at
// all; why says what it is instead.
func privateKeyDamagedFinding(why string) *Finding {
	return keyFinding(fmt.Sprintf("The key's private_key field %s.", why), "The file was damaged on the way (edited, re-wrapped or cut short): copy the original file again, or "+keyHowTo+".")
}

// keyTextTooLongFinding is a text field of a credential (what names the
// file) longer than any Google writes.
func keyTextTooLongFinding(what, field string, n, max int, fix string) *Finding {
	return keyFinding(fmt.Sprintf("The %s's %s is %d characters long; Google's are at most %d.", what, field, n, max), fix)
}

// keyTextControlFinding is a text field of a credential holding a control
// character, shown escaped.
func keyTextControlFinding(what, field, v, fix string) *Finding {
	return keyFinding(fmt.Sprintf("The %s's %s \"%s\" holds a control character (%s), which no Google credential has.", what, field, clip(SafeText(v), 60), firstEscape(v)), fix)
}

// The key itself; where names the file or field that holds it.

// notRSAFinding is a private key of another algorithm (alg, e.g. "an
// Ed25519"): not damaged, just not one Google issued.
func notRSAFinding(where, alg string) *Finding {
	return keyFinding(fmt.Sprintf("%s holds %s private key; Google's service-account keys are RSA (they sign with RS256), so this key is not one Google issued for a service account.", where, alg), serviceAccountKeyFix)
}

func rsaTooShortFinding(where string, bits int) *Finding {
	return keyFinding(fmt.Sprintf("%s holds a %d-bit RSA key; Google's keys are %d bits, and an RSA key under %d bits can be broken, so it is refused.", where, bits, minRSABits, minRSABits), serviceAccountKeyFix)
}

// Legacy .p12 keys and the values entered with them.

func p12NoEmailFinding() *Finding {
	return keyFinding("A .p12 key holds no service-account e-mail.", "Enter the service account's e-mail ("+p12EmailWhere+"), e.g. --client-email mailer@project.iam.gserviceaccount.com.")
}

func p12NoClientIDFinding() *Finding {
	return keyFinding("A .p12 key holds no client ID, which the Admin console needs for domain-wide delegation.", "Enter the service account's numeric client ID ("+p12IDWhere+"), e.g. --client-id 104715287395062714451.")
}

func p12WrongPasswordFinding() *Finding {
	return keyFinding("The .p12 password is wrong.", fmt.Sprintf("Google's .p12 keys use the password %q; if it was changed, enter the password the key was exported with (--p12-password, or the wizard's password field).", DefaultP12Password))
}

func p12UnparsableFinding(err error) *Finding {
	return keyFinding(fmt.Sprintf("The .p12 file does not parse (%v).", err), "Copy the original .p12 file again (binary, not text), or better "+keyHowTo+".")
}

// p12TooMuchWorkFinding is a .p12 file asking for rounds (in words)
// key-derivation rounds, far more than any real key.
func p12TooMuchWorkFinding(rounds string) *Finding {
	return keyFinding(fmt.Sprintf("The .p12 file asks for %s key-derivation rounds; real keys use a few thousand (Google's 2048), and opening it would keep this program busy for hours, so it is refused.", rounds), "Load the .p12 key Google generated for the service account, or "+keyHowTo+".")
}

func p12EmailNotAddressFinding(email string) *Finding {
	return keyFinding(fmt.Sprintf("%q is not the service account's e-mail.", email), "Enter it as shown in the Cloud console, e.g. mailer@project.iam.gserviceaccount.com.")
}

func p12ClientIDNotNumericFinding(id string) *Finding {
	return keyFinding(fmt.Sprintf("%q is not a numeric client ID.", id), "Copy the service account's numeric client ID ("+p12IDWhere+").")
}

// OAuth clients: the client JSON and a client ID and secret entered by hand.

// oauthSectionFinding is the typ ("web", "installed") section of an OAuth
// client JSON that does not decode; problem says why in JSON's words.
func oauthSectionFinding(typ, problem string) *Finding {
	return keyFinding(fmt.Sprintf("The OAuth client JSON's %q section is not what Google writes: %s (an object with client_id and client_secret).", typ, problem), clientDownloadAgain)
}

func oauthNoClientIDFinding(typ string) *Finding {
	return keyFinding(fmt.Sprintf("The OAuth client JSON has no %s.client_id.", typ), clientDownloadAgain)
}

func clientIDEmptyFinding() *Finding {
	return keyFinding("The OAuth client ID is empty.", "Copy \"Client ID\" from "+clientHowTo+".")
}

// clientIDIsServiceAccountFinding is a service account's numeric client ID
// entered as an OAuth client ID.
func clientIDIsServiceAccountFinding(id string) *Finding {
	return keyFinding(fmt.Sprintf("%s is a service account's numeric client ID, not an OAuth client ID.", id), "For the consent path copy the Client ID ending in "+OAuthClientIDSuffix+" from "+clientHowTo+"; for domain-wide delegation load a service-account key (wizard step 3, or `mailoauth setup --key FILE`).")
}

func clientIDSuffixFinding(id string) *Finding {
	return keyFinding(fmt.Sprintf("The OAuth client ID %q does not end in %s.", id, OAuthClientIDSuffix), "Copy the whole \"Client ID\" from "+clientHowTo+".")
}

func clientIDShapeFinding(id string) *Finding {
	return keyFinding(fmt.Sprintf("The OAuth client ID %q is not shaped like Google's (digits, a dash, letters and digits, then %s).", id, OAuthClientIDSuffix), "Copy the whole \"Client ID\" again from "+clientHowTo+" (no spaces or line breaks).")
}

func clientSecretMissingFinding(clientID string) *Finding {
	return keyFinding(fmt.Sprintf("The OAuth client %s has no client secret.", clientID), "Copy \"Client secret\" from "+clientHowTo+" (or download its JSON again, which holds it).")
}

func clientSecretSpacesFinding(clientID string) *Finding {
	return keyFinding(fmt.Sprintf("The client secret of %s contains spaces or line breaks.", clientID), "Copy \"Client secret\" again from "+clientHowTo+" as one word.")
}

func redirectURINotAbsoluteFinding(uri, clientID string) *Finding {
	return keyFinding(fmt.Sprintf("The redirect URI %q of client %s is not an absolute URL.", uri, clientID), "Enter it exactly as listed under Authorized redirect URIs in "+clientHowTo+", e.g. http://127.0.0.1:8765/callback.")
}

// Credentials of the wrong kind for the path chosen.

// oauthClientNotServiceAccountFinding is an OAuth client loaded where a
// service-account key is needed.
func oauthClientNotServiceAccountFinding(clientType, clientID string) *Finding {
	return NewFinding(CodeWrongCredentialType,
		fmt.Sprintf("This is an OAuth client JSON (%s application, client ID %s), not a service-account key.", clientType, clientID),
		"It belongs to the OAuth client (consent) path (choose OAuth client at step 3 of the wizard, or `mailoauth setup --client FILE`); for domain-wide delegation "+keyHowTo+".")
}

// authorizedUserNotServiceAccountFinding is an authorized_user file loaded
// where a service-account key is needed.
func authorizedUserNotServiceAccountFinding() *Finding {
	return NewFinding(CodeWrongCredentialType,
		"This is an authorized_user file (one person's refresh token, e.g. from gcloud), not a service-account key.",
		"It cannot act for other mailboxes: "+keyHowTo+".")
}

// unsupportedCredentialFinding is a key file of a type Gmail cannot use.
func unsupportedCredentialFinding(typ string) *Finding {
	return NewFinding(CodeWrongCredentialType,
		fmt.Sprintf("This is a %q credential, which cannot sign in to Gmail.", typ),
		"Load a service-account key ("+keyHowTo+") or an OAuth client JSON.")
}

// noDelegationFinding is any other credential that cannot do domain-wide
// delegation.
func noDelegationFinding() *Finding {
	return NewFinding(CodeWrongCredentialType, "This credential cannot do domain-wide delegation.", keyHowTo+".")
}

// consumerGmailFinding is a service account set up for a consumer Gmail
// domain.
func consumerGmailFinding(domain string) *Finding {
	return NewFinding(CodeWrongCredentialType,
		fmt.Sprintf("%s is Google's consumer Gmail, which has no Admin console, so a service account cannot act for its mailboxes.", domain),
		fmt.Sprintf("Use an OAuth client instead: `mailoauth setup --domain %s --sender you@%s --client FILE` (or choose OAuth client at step 3 of the wizard); each mailbox's owner then consents once.", domain, domain))
}

// serviceAccountNotClientFinding: a service-account key was given where an
// OAuth client is needed.
func serviceAccountNotClientFinding(c *Credential) *Finding {
	return NewFinding(CodeWrongCredentialType,
		fmt.Sprintf("This is a service-account key (%s), not an OAuth client.", orUnknown(c.ClientEmail, "client ID "+c.ClientID)),
		"Use it for domain-wide delegation with `mailoauth setup --key FILE`; for the consent path download the OAuth client JSON from "+clientHowTo+" > Download JSON.")
}

// notOAuthClientFinding: a credential of another kind was given where an
// OAuth client is needed.
func notOAuthClientFinding(c *Credential) *Finding {
	return NewFinding(CodeWrongCredentialType,
		fmt.Sprintf("This is a %s, not an OAuth client.", c.Kind.Describe()),
		"Download the OAuth client JSON from "+clientHowTo+" > Download JSON, or enter its client ID and secret.")
}
