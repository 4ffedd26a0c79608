package proxy

import (
	"fmt"
	"time"
)

// The lockout of client addresses that send wrong proxy passwords: Config's
// FailLimit wrong ones within FailWindow lock an address out for
// Lockout. The state lives in Server.fails under Server.mu.

// failures is one client address's recent wrong passwords and lockout.
type failures struct {
	times       []time.Time
	lockedUntil time.Time
	// While locked out: attempts refused since the last report, and when
	// that was (lockedReportEvery).
	refusedLocked int
	lastReport    time.Time
	// pending is how many of its passwords are being verified (reserve).
	pending int
}

// lockedOut returns the refusal of a client address that is locked out,
// or nil.
func (s *Server) lockedOut(client string) *loginError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockedOutLocked(s.fails[client], s.cfg.Now())
}

// lockedOutLocked is lockedOut with s.mu held. The refusal is quiet
// (neither logged nor audited) when the address was reported less than
// lockedReportEvery ago; the next report counts it.
func (s *Server) lockedOutLocked(f *failures, now time.Time) *loginError {
	if f == nil || !now.Before(f.lockedUntil) {
		return nil
	}
	le := &loginError{reason: "locked out", locked: f.lockedUntil}
	f.refusedLocked++
	if !f.lastReport.IsZero() && now.Sub(f.lastReport) < lockedReportEvery {
		le.quiet = true
		return le
	}
	if f.refusedLocked > 1 {
		le.reason = fmt.Sprintf("still locked out, %d attempts refused since %s", f.refusedLocked, f.lastReport.UTC().Format("15:04:05 UTC"))
	}
	f.refusedLocked, f.lastReport = 0, now
	return le
}

// reserve takes the right to verify one password from client, or returns
// the refusal of an address that is locked out. Verifications still
// running count as failures until they are settled, so that parallel
// connections cannot have more than FailLimit wrong passwords within
// FailWindow verified: an attempt that would exceed it waits for those to
// settle. settle must follow.
func (s *Server) reserve(client string) *loginError {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		now := s.cfg.Now()
		f := s.fails[client]
		if le := s.lockedOutLocked(f, now); le != nil {
			return le
		}
		if f == nil {
			f = &failures{}
			s.fails[client] = f
		}
		if f.recent(now, s.cfg.FailWindow)+f.pending < s.cfg.FailLimit {
			f.pending++
			return nil
		}
		s.settled.Wait()
	}
}

// settle ends a reserved verification; wrong records a wrong password. It
// reports whether that locked the address out.
func (s *Server) settle(client string, wrong bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.settled.Broadcast()
	now := s.cfg.Now()
	f := s.fails[client]
	f.pending--
	if !wrong {
		s.pruneFails(now)
		return false
	}
	f.recent(now, s.cfg.FailWindow)
	f.times = append(f.times, now)
	s.pruneFails(now)
	if len(f.times) >= s.cfg.FailLimit {
		f.times = nil
		f.lockedUntil = now.Add(s.cfg.Lockout)
		return true
	}
	return false
}

// pruneFails forgets, with s.mu held, the addresses whose lockout is over
// and whose failures are all older than FailWindow, so that the map
// cannot grow forever. It looks at the whole map at most once per
// FailWindow: an attacker trying from many addresses pays for the scan,
// not each wrong password.
func (s *Server) pruneFails(now time.Time) {
	if now.Sub(s.lastPrune) < s.cfg.FailWindow {
		return
	}
	s.lastPrune = now
	for c, f := range s.fails {
		if f.pending == 0 && !now.Before(f.lockedUntil) && f.recent(now, s.cfg.FailWindow) == 0 {
			delete(s.fails, c)
		}
	}
}

// recent drops the failures older than window and returns how many remain.
func (f *failures) recent(now time.Time, window time.Duration) int {
	keep := f.times[:0]
	for _, t := range f.times {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	f.times = keep
	return len(keep)
}
