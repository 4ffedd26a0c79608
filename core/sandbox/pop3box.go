package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// The POP3 server shows a mailbox's INBOX as IMAP clients see it. go-imap's
// in-memory store hands messages out only through an IMAP conversation, so
// the POP3 server holds one: an IMAP server of its own, over in-process
// pipes and never on a network, whose LOGIN takes a secret only the sandbox
// knows and opens the sandbox user's store.

// popMessage is one message of the POP3 session's snapshot of the INBOX.
type popMessage struct {
	uid  imap.UID
	body []byte // CRLF line ends
}

// pipeListener hands the in-process connections to the inner IMAP server.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "sandbox-pop3-store" }

// storeSession is the inner IMAP server's session: the user's store once
// logged in with the secret.
type storeSession struct {
	*imapmemserver.UserSession
	sb *Sandbox
}

func (sess *storeSession) Login(username, password string) error {
	sb := sess.sb
	if password != sb.storeSecret {
		return errIMAPInvalidCredentials
	}
	sb.mu.Lock()
	u := sb.users[username]
	sb.mu.Unlock()
	if u == nil {
		return errIMAPInvalidCredentials
	}
	sess.UserSession = imapmemserver.NewUserSession(u.mem)
	return nil
}

func (sess *storeSession) Close() error {
	if sess.UserSession != nil {
		return sess.UserSession.Close()
	}
	return nil
}

func (s *Sandbox) startStore() {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	s.storeSecret = hex.EncodeToString(secret)
	s.storeLn = &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	s.storeSrv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &storeSession{sb: s}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true, // a pipe inside the process
		Logger:       imapLogger{s},
	})
	s.imapServing.Add(1)
	go func() { defer s.imapServing.Done(); _ = s.storeSrv.Serve(s.storeLn) }()
}

// inbox is a POP3 session's hold on a user's INBOX.
type inbox struct {
	c    *imapclient.Client
	msgs []popMessage
}

// openInbox logs the inner IMAP client in as email and reads the INBOX.
func (s *Sandbox) openInbox(email string) (*inbox, error) {
	ours, theirs := net.Pipe()
	select {
	case s.storeLn.conns <- theirs:
	case <-s.done:
		ours.Close()
		theirs.Close()
		return nil, errClosed
	}
	ib := &inbox{c: imapclient.New(ours, nil)}
	err := ib.read(email, s.storeSecret)
	if err != nil {
		ib.close()
		return nil, err
	}
	return ib, nil
}

func (ib *inbox) read(email, secret string) error {
	if err := ib.c.Login(email, secret).Wait(); err != nil {
		return err
	}
	sel, err := ib.c.Select("INBOX", nil).Wait()
	if err != nil {
		return err
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	whole := &imap.FetchItemBodySection{Peek: true}
	bufs, err := ib.c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{whole}}).Collect()
	if err != nil {
		return err
	}
	for _, b := range bufs {
		ib.msgs = append(ib.msgs, popMessage{uid: b.UID, body: normalizeCRLF(b.FindBodySection(whole))})
	}
	return nil
}

// expunge removes the messages of uids from the INBOX.
func (ib *inbox) expunge(uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	if err := ib.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return err
	}
	return ib.c.UIDExpunge(set).Close()
}

func (ib *inbox) close() {
	if ib == nil {
		return
	}
	_ = ib.c.Close()
}
