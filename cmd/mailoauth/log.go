package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// The logs of the daemons (serve, and any long-running command): structured
// lines on stderr, where journald keeps them, as logfmt-like text or JSON
// (--log-format). Never log a token, key, secret or password: log the
// fingerprint. As a last guard, an attribute whose key names a secret is
// printed as [redacted].

// addLogFlags adds --log-format to a daemon's command.
func addLogFlags(cmd *cobra.Command, format *string) {
	addChoiceFlag(cmd, format, "log-format", "", "text", "the `FORMAT` of the log lines on stderr: text or json", "text", "json")
}

// newLogger is the logger of a daemon writing to w (stderr) in format.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{ReplaceAttr: redactSecrets}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q is not known; use text or json", format)
}

// secretKeys are the attribute keys whose values never reach a log.
var secretKeys = []string{"token", "secret", "password", "private_key", "privatekey", "assertion", "authorization"}

func redactSecrets(_ []string, attr slog.Attr) slog.Attr {
	k := strings.ToLower(attr.Key)
	if strings.HasSuffix(k, "fingerprint") {
		return attr
	}
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			return slog.String(attr.Key, "[redacted]")
		}
	}
	return attr
}
