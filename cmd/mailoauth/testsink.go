package main

import (
	"encoding/json"

	"github.com/mailoauth/mailoauth/core"
)

// resultSink takes a bulk test's results in input order as they are done
// (core.RunRequest.OnResult; core.Run saves them): printed as JSON lines at
// once (--json) or held for the table. With --json nothing is held, so a
// run over 100,000 mailboxes stays small.
type resultSink struct {
	enc  *json.Encoder // nil: table output
	held []core.MailboxResult
	err  error // writing the output failed
}

func newResultSink(a *app, asJSON bool) *resultSink {
	k := &resultSink{}
	if asJSON {
		k.enc = json.NewEncoder(a.stdout)
	}
	return k
}

func (k *resultSink) add(r core.MailboxResult) {
	if k.enc == nil {
		k.held = append(k.held, r)
	} else if err := k.enc.Encode(jsonResult(r)); err != nil && k.err == nil {
		k.err = err
	}
}
