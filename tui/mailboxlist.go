package tui

import (
	"sort"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

// mailboxList holds the assignments of a profile in memory with a search
// index, so a list of 100,000 filters in milliseconds and only the visible
// window is ever rendered.
type mailboxList struct {
	items   []core.Mailbox
	search  []string       // lower-case "email name kind owner" per item
	pos     map[string]int // email -> index in items
	changed map[string]bool
	deleted map[string]bool

	query    string
	filtered []int // indexes into items matching query
	counts   map[core.OwnerKind]int
}

func newMailboxList(ms []core.Mailbox) *mailboxList {
	l := &mailboxList{items: ms, changed: map[string]bool{}, deleted: map[string]bool{}}
	sort.SliceStable(l.items, func(i, j int) bool { return l.items[i].Email < l.items[j].Email })
	l.reindex()
	return l
}

func searchKey(m core.Mailbox) string {
	return strings.ToLower(m.Email + "\x00" + m.DisplayName + "\x00" + string(m.OwnerKind) + "\x00" + m.OwnerName)
}

func (l *mailboxList) reindex() {
	l.search = make([]string, len(l.items))
	l.pos = make(map[string]int, len(l.items))
	l.counts = map[core.OwnerKind]int{}
	for i, m := range l.items {
		l.search[i] = searchKey(m)
		l.pos[m.Email] = i
		l.counts[m.OwnerKind]++
	}
	l.refilter("")
}

// setQuery filters on the search index; a query that extends the previous
// one only narrows the previous result.
func (l *mailboxList) setQuery(q string) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == l.query && l.filtered != nil {
		return
	}
	prev := l.query
	l.query = q
	if prev != "" && strings.HasPrefix(q, prev) && l.filtered != nil {
		l.refilter(q)
		return
	}
	l.filtered = nil
	l.refilter(q)
}

func (l *mailboxList) refilter(q string) {
	l.query = q
	if q == "" {
		l.filtered = make([]int, len(l.items))
		for i := range l.items {
			l.filtered[i] = i
		}
		return
	}
	src := l.filtered
	out := make([]int, 0, 64)
	if src == nil {
		for i, s := range l.search {
			if strings.Contains(s, q) {
				out = append(out, i)
			}
		}
	} else {
		for _, i := range src {
			if strings.Contains(l.search[i], q) {
				out = append(out, i)
			}
		}
	}
	l.filtered = out
}

// put adds or replaces an assignment (already normalized); old is the email
// it had before an edit, or "".
func (l *mailboxList) put(m core.Mailbox, old string) {
	if old != "" && old != m.Email {
		l.remove(old)
	}
	if i, ok := l.pos[m.Email]; ok {
		l.counts[l.items[i].OwnerKind]--
		l.items[i] = m
		l.search[i] = searchKey(m)
		l.counts[m.OwnerKind]++
	} else {
		i := sort.Search(len(l.items), func(i int) bool { return l.items[i].Email >= m.Email })
		l.items = append(l.items, core.Mailbox{})
		copy(l.items[i+1:], l.items[i:])
		l.items[i] = m
		q := l.query
		l.reindex()
		l.filtered = nil
		l.refilter(q)
	}
	l.changed[m.Email] = true
	delete(l.deleted, m.Email)
	if l.query != "" {
		q := l.query
		l.filtered = nil
		l.refilter(q)
	}
}

func (l *mailboxList) remove(email string) {
	i, ok := l.pos[email]
	if !ok {
		return
	}
	l.items = append(l.items[:i], l.items[i+1:]...)
	delete(l.changed, email)
	l.deleted[email] = true
	q := l.query
	l.reindex()
	l.filtered = nil
	l.refilter(q)
}

func (l *mailboxList) dirty() bool { return len(l.changed) > 0 || len(l.deleted) > 0 }

func (l *mailboxList) emails() []string {
	out := make([]string, len(l.items))
	for i, m := range l.items {
		out[i] = m.Email
	}
	return out
}

// putAll merges many normalized assignments with one reindex.
func (l *mailboxList) putAll(ms []core.Mailbox) {
	for _, m := range ms {
		if i, ok := l.pos[m.Email]; ok {
			l.items[i] = m
		} else {
			l.items = append(l.items, m)
			l.pos[m.Email] = len(l.items) - 1
		}
		l.changed[m.Email] = true
		delete(l.deleted, m.Email)
	}
	sort.SliceStable(l.items, func(i, j int) bool { return l.items[i].Email < l.items[j].Email })
	q := l.query
	l.reindex()
	l.filtered = nil
	l.refilter(q)
}
