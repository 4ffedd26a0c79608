package core

import (
	"context"
	"strings"
	"testing"
)

// TestRunAllStreamsInInputOrder: results finishing out of order are handed
// to stream in input order, duplicates get their first occurrence's result,
// and RunAll keeps none of them.
func TestRunAllStreamsInInputOrder(t *testing.T) {
	cDone := make(chan struct{})
	check := func(ctx context.Context, mailbox string, checks []CheckName, onCheck func(CheckResult)) MailboxResult {
		switch mailbox {
		case "b@example.test":
			<-cDone // b finishes only after c
		case "c@example.test":
			defer close(cDone)
		}
		return MailboxResult{Mailbox: mailbox, OK: true, Notes: []string{"checked " + mailbox}}
	}
	in := []string{"a@example.test", "b@example.test", "c@example.test", "A@example.test", "d@example.test", "b@example.test"}
	var got []string
	res := runAll(context.Background(), check, in, RunOptions{stream: func(r MailboxResult) {
		got = append(got, r.Mailbox+"="+strings.Join(r.Notes, ""))
	}})
	if res != nil {
		t.Fatalf("RunAll with stream returned %d results", len(res))
	}
	want := "a@example.test=checked a@example.test b@example.test=checked b@example.test c@example.test=checked c@example.test " +
		"a@example.test=checked a@example.test d@example.test=checked d@example.test b@example.test=checked b@example.test"
	if strings.Join(got, " ") != want {
		t.Fatalf("streamed\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}
