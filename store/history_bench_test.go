package store

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// BenchmarkHistorySave measures what saving results costs the store as a
// mailbox's check history grows: a bulk run saves 500 results per
// transaction (core's saveBatch), each with the four checks. Each case
// first saves `runs` runs over every mailbox, then each iteration saves
// one more run and reports, per commit, the pages bbolt wrote
// (pages/commit, TxStats.Write) and the bytes it allocated (KB/commit), and
// the store's size per mailbox: the pages the history buckets hold
// (histB/mailbox) and the file (fileB/mailbox). Run it with
// -benchtime=2x: the fill is the slow part.
//
//	go test ./store -run '^$' -bench HistorySave -benchtime=2x
func BenchmarkHistorySave(b *testing.B) {
	for _, c := range []struct {
		mailboxes, runs int
	}{
		{2000, 0},
		{2000, 40},
		{200, HistoryMaxRuns + 40}, // past the cap: pruning under way
	} {
		b.Run(fmt.Sprintf("mailboxes=%d/runs=%d", c.mailboxes, c.runs), func(b *testing.B) {
			benchHistorySave(b, c.mailboxes, c.runs)
		})
	}
}

func benchHistorySave(b *testing.B, mailboxes, runs int) {
	// measuring is set while the measured run saves; the store reports
	// each commit's statistics from inside the transaction, so an idle
	// release or a reopen in between loses none.
	var measuring bool
	var writes, alloc, commits int64
	s, path := newStoreWith(b, Options{committed: func(st bolt.TxStats) {
		if measuring {
			writes += st.GetWrite()
			alloc += int64(st.GetPageAlloc())
			commits++
		}
	}})
	mustSaveProfile(b, s, "example.com")
	names := make([]string, mailboxes)
	for i := range names {
		names[i] = fmt.Sprintf("user%06d@example.com", i)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	run := 0
	// saveRun saves one run over every mailbox, 500 results per
	// transaction, in address order as a bulk run's nearly are.
	saveRun := func() {
		at := t0.Add(time.Duration(run) * 15 * time.Minute)
		run++
		for from := 0; from < len(names); from += 500 {
			var rs []core.MailboxResult
			for _, name := range names[from:min(from+500, len(names))] {
				rs = append(rs, passed(name, at.Add(time.Duration(len(rs))*time.Millisecond), core.CheckToken, core.CheckIMAP, core.CheckSMTP, core.CheckRoundtrip))
			}
			if err := s.SaveResults("example.com", rs); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range runs {
		saveRun()
	}
	measuring = true
	for b.Loop() {
		saveRun()
	}
	measuring = false
	if commits == 0 {
		b.Fatal("no commit could be measured")
	}
	b.ReportMetric(float64(writes)/float64(commits), "pages/commit")
	b.ReportMetric(float64(alloc)/float64(commits)/1024, "KB/commit")
	var hist int
	if err := s.viewProfile("example.com", func(pb *bolt.Bucket) error {
		return pb.ForEachBucket(func(k []byte) error {
			if strings.HasPrefix(string(k), "history") {
				st := pb.Bucket(k).Stats()
				hist += st.BranchAlloc + st.LeafAlloc
			}
			return nil
		})
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(hist)/float64(mailboxes), "histB/mailbox")
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(mailboxes), "fileB/mailbox")
	}
	b.ReportMetric(0, "ns/op") // the time is the fsyncs', not the point
}
