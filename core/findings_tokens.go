package core

// The finding texts (summary and fix) of minting tokens and of the clock
// checked against the token endpoint. The code that decides which one
// applies stays with the token logic.

import (
	"fmt"
	"time"
)

func noKeyFinding() *Finding {
	return NewFinding(CodeInvalidKey, "No service-account key is loaded.", "Load the service-account JSON key with `mailoauth setup --key FILE`.")
}

func noPrivateKeyFinding() *Finding {
	return NewFinding(CodeInvalidKey, "The service-account credential holds no private key.", "Load the service-account key again with `mailoauth setup --key FILE`.")
}

func serviceAccountAsMailboxFinding(mailbox string) *Finding {
	return NewFinding(CodeServiceAccountAsMailbox,
		fmt.Sprintf("%s is the service account itself, not a mailbox.", mailbox),
		"Test a real mailbox of the Workspace domain (e.g. administrator@yourcompany.example); the service account only acts on behalf of mailboxes.")
}

// clockFix is what to do about a clock that is off.
const clockFix = "Synchronise the clock with NTP (e.g. `timedatectl set-ntp true` or chrony), then retry."

// ClockRenewalFinding is the clock_skew finding for a clock off by more than
// the doctor allows on the consent path, where no assertion is signed: the
// clock only skews when tokens are thought to expire.
func ClockRenewalFinding(off time.Duration) *Finding {
	return NewFinding(CodeClockSkew,
		fmt.Sprintf("This server's clock is %s Google's (measured from the token endpoint's Date header), so access tokens are renewed too early or used after they expired.", ClockOffsetWords(off)),
		clockFix)
}

// ClockSkewFinding is the clock_skew finding for a measured offset (measured
// false when the token endpoint sent no usable Date header).
func ClockSkewFinding(off time.Duration, measured bool, mailbox string) *Finding {
	if mailbox == "" {
		mailbox = "the mailbox"
	}
	fix := clockFix
	if !measured {
		return NewFinding(CodeClockSkew,
			fmt.Sprintf("Google rejected the signed assertion for %s as outside its time window, so this server's clock is probably off (the offset could not be measured).", mailbox), fix)
	}
	return NewFinding(CodeClockSkew,
		fmt.Sprintf("This server's clock is %s Google's (measured from the token endpoint's Date header), so Google rejects the signed assertion for %s.", ClockOffsetWords(off), mailbox), fix)
}
