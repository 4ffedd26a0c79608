package main

import (
	"encoding/json"
	"fmt"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// saveEvery is how many results `test` saves to the store per transaction.
const saveEvery = 500

// resultSink takes a bulk test's results in input order as they are done:
// saved to the store in batches, printed as JSON lines at once (--json) or
// held for the table, and counted. With --json nothing is held, so a run
// over 100,000 mailboxes stays small.
type resultSink struct {
	a              *app
	st             *store.Store
	domain         string
	enc            *json.Encoder // nil: table output
	held           []core.MailboxResult
	batch          []core.MailboxResult
	passed, failed int
	saveErr        bool
	err            error // writing the output failed
}

func newResultSink(a *app, st *store.Store, domain string, asJSON bool) *resultSink {
	k := &resultSink{a: a, st: st, domain: domain}
	if asJSON {
		k.enc = json.NewEncoder(a.stdout)
	}
	return k
}

func (k *resultSink) add(r core.MailboxResult) {
	if r.OK {
		k.passed++
	} else {
		k.failed++
	}
	if k.enc != nil {
		if err := k.enc.Encode(jsonResult(r)); err != nil && k.err == nil {
			k.err = err
		}
	} else {
		k.held = append(k.held, r)
	}
	k.batch = append(k.batch, r)
	if len(k.batch) >= saveEvery {
		k.flush()
	}
}

// flush saves the results not saved yet.
func (k *resultSink) flush() {
	if len(k.batch) == 0 {
		return
	}
	if err := k.st.SaveResults(k.domain, k.batch); err != nil && !k.saveErr {
		k.saveErr = true
		fmt.Fprintf(k.a.stderr, "mailoauth: the results could not be saved (%v); they are printed below\n", err)
	}
	k.batch = k.batch[:0]
}
