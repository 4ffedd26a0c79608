package core

import (
	"strings"
	"sync"
)

// streamer hands a bulk run's results to RunOptions.stream in input order
// as soon as they can be, keeping only those that wait for an earlier one
// (and those of mailboxes listed again later).
type streamer struct {
	fn        func(MailboxResult)
	mailboxes []string
	first     map[string]int // key -> index of its first occurrence

	callMu  sync.Mutex // held while fn runs: one call at a time, in order
	next    int        // the next input position to hand over
	waiting map[int]MailboxResult
	dups    map[string]MailboxResult // results of mailboxes listed again
	repeat  map[string]bool          // keys listed more than once
}

func newStreamer(fn func(MailboxResult), mailboxes []string, first map[string]int) *streamer {
	if fn == nil {
		return nil
	}
	st := &streamer{fn: fn, mailboxes: mailboxes, first: first, waiting: map[int]MailboxResult{},
		dups: map[string]MailboxResult{}, repeat: map[string]bool{}}
	for i, m := range mailboxes {
		if k := streamKey(m); first[k] != i {
			st.repeat[k] = true
		}
	}
	return st
}

func streamKey(m string) string { return strings.ToLower(strings.TrimSpace(m)) }

// deliver records the result of input position i (a first occurrence) and
// hands over what is ready. It is called with the runner's lock held and
// calls unlock once the order of the calls is fixed, before calling fn.
func (st *streamer) deliver(i int, r MailboxResult, unlock func()) {
	if st == nil {
		unlock()
		return
	}
	st.waiting[i] = r
	var ready []MailboxResult
	for st.next < len(st.mailboxes) {
		k := streamKey(st.mailboxes[st.next])
		j := st.first[k]
		var res MailboxResult
		if j == st.next {
			var ok bool
			if res, ok = st.waiting[j]; !ok {
				break
			}
			delete(st.waiting, j)
			if st.repeat[k] {
				st.dups[k] = res
			}
		} else {
			res = st.dups[k] // j < next: already done
		}
		ready = append(ready, res)
		st.next++
	}
	st.callMu.Lock() // taken in the order the runner's lock was
	unlock()
	defer st.callMu.Unlock()
	for _, res := range ready {
		st.fn(res)
	}
}
