package sandbox

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The Internet between a client and Google costs a round trip for every
// exchange; on loopback it costs nothing, which hides how many exchanges a
// client makes. Every listener of the sandbox is wrapped so that whatever
// the server writes reaches the client one round-trip time (RTT) later:
// HTTP responses, each IMAP and SMTP reply, the TLS handshake's server
// flights. Writes are delayed, not the server: a write is queued and
// delivered RTT after the start of its flight, and the server goes on (as
// a real network does; a TLS session ticket written after the handshake
// does not hold up the next reply). A flight is everything the server
// writes between two reads, so a reply made of many Write calls still
// costs one RTT. A connection's first flight comes 2 RTT after the
// connection is accepted: one RTT for TCP's connect (SYN, SYN-ACK), which
// loopback does not charge, and one for the flight itself.

// rttClock is the time source of the delayed writes (a fake one in tests).
type rttClock struct {
	now func() time.Time
	// sleep waits d; false means give up (the sandbox is closing).
	sleep func(d time.Duration) bool
}

// rttListener wraps every accepted connection in an rttConn.
type rttListener struct {
	net.Listener
	rtt     func() time.Duration
	clock   rttClock
	flights *atomic.Int64 // delayed flights, for tests and benchmarks
}

func (l *rttListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newRTTConn(c, l.rtt, l.clock, l.flights), nil
}

type rttChunk struct {
	b  []byte
	at time.Time // when it may reach the client
}

// rttConn delays what is written to it by the current RTT, once per flight.
type rttConn struct {
	net.Conn
	rtt     func() time.Duration
	clock   rttClock
	flights *atomic.Int64

	mu      sync.Mutex
	drained *sync.Cond // signalled when the writer goroutine stops
	queue   []rttChunk
	flight  time.Time // release time of the current flight; zero: the next write starts one
	last    time.Time // release time of the latest flight
	wrote   bool      // the server has written (the connect is paid for)
	running bool      // the writer goroutine is delivering the queue
	err     error     // the first failed delivery; later writes return it
}

func newRTTConn(c net.Conn, rtt func() time.Duration, clock rttClock, flights *atomic.Int64) *rttConn {
	rc := &rttConn{Conn: c, rtt: rtt, clock: clock, flights: flights}
	rc.drained = sync.NewCond(&rc.mu)
	return rc
}

// Read ends the current flight: what the server writes next answers it.
func (c *rttConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.flight = time.Time{}
		c.mu.Unlock()
	}
	return n, err
}

func (c *rttConn) Write(b []byte) (int, error) {
	rtt := c.rtt()
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	first := !c.wrote
	c.wrote = true
	if rtt <= 0 && !c.running {
		c.mu.Unlock()
		return c.Conn.Write(b) // no delay and nothing queued: straight through
	}
	if c.flight.IsZero() {
		now := c.clock.now()
		// A flight that starts while the previous one is still on its
		// way answers commands the client sent together (pipelined, or
		// split by TCP): the client waits for both at once, so it is not
		// counted as another round trip.
		n, d := int64(1), max(rtt, 0)
		if first {
			// TCP's connect cost the client a round trip (SYN,
			// SYN-ACK) before its first flight could reach the server;
			// on loopback it cost nothing, so the server's first flight
			// (a TLS ServerHello, a greeting) comes one RTT later.
			n, d = 2, 2*d
		}
		if c.flights != nil && !c.last.After(now) {
			c.flights.Add(n)
		}
		c.flight = now.Add(d)
		c.last = c.flight
	}
	c.queue = append(c.queue, rttChunk{b: append([]byte(nil), b...), at: c.flight})
	if !c.running {
		c.running = true
		go c.deliver()
	}
	c.mu.Unlock()
	return len(b), nil
}

// deliver writes the queue in order, each chunk at its time, and stops
// when the queue is empty.
func (c *rttConn) deliver() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.err != nil {
			c.queue = nil
			c.running = false
			c.drained.Broadcast()
			c.mu.Unlock()
			return
		}
		ch := c.queue[0]
		c.queue[0] = rttChunk{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
		var err error
		if d := ch.at.Sub(c.clock.now()); d > 0 && !c.clock.sleep(d) {
			err = net.ErrClosed
		}
		if err == nil {
			_, err = c.Conn.Write(ch.b)
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
		}
	}
}

// Close delivers what is still queued (a last reply before the server
// hangs up, a TLS close_notify), then closes the connection.
func (c *rttConn) Close() error {
	c.mu.Lock()
	for c.running {
		c.drained.Wait()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// rttListen wraps a listener of the sandbox in the RTT fault.
func (s *Sandbox) rttListen(ln net.Listener) net.Listener {
	return &rttListener{Listener: ln, rtt: s.rtt, flights: &s.flights,
		clock: rttClock{now: time.Now, sleep: s.sleep}}
}

func (s *Sandbox) rtt() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.faults.RTTMS) * time.Millisecond
}

// Flights is how many round trips the RTT fault has charged: one per
// delayed server flight, and one more for each connection's connect.
// Flights sent while the previous one is still on its way (replies to
// pipelined commands) are not counted again: the client waits for them
// together.
func (s *Sandbox) Flights() int64 { return s.flights.Load() }
