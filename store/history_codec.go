package store

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/mailoauth/mailoauth/core"
)

// The check history's binary encoding (schema 3). One run is what one save
// of a mailbox's result adds: its time and the outcome of each check that
// ran. Runs are written in chunks, each run's time a delta from the one
// before it in the chunk (the first from zero):
//
//	run    = uvarint(time - previous time, Unix ns) byte(number of checks) check...
//	check  = byte(head) [string(name)] varint(ms) [string(code)] [varint(time - since, ns)]
//	head   = check's index in core.AllChecks (headNamed: the name follows)
//	         | headOK | headCode | headSince
//	string = uvarint(length) bytes
//
// A passed run of the four checks takes about 20 bytes where the JSON
// entries of schema 2 took about 60 each, plus a key each. This encoding
// is what migration 2 -> 3 writes: a later change of it is a new schema
// with its own migration.
const (
	headIndex = 0x0f
	headNamed = 0x0f
	headSince = 0x20
	headCode  = 0x40
	headOK    = 0x80
)

// histCheck is one check's outcome in a run.
type histCheck struct {
	check core.CheckName
	ok    bool
	ms    int64
	code  core.Code
	since int64 // Unix ns; 0: none (a pass)
}

// histRun is one run of a mailbox's checks.
type histRun struct {
	time   int64 // Unix ns
	checks []histCheck
}

// histCarry is a check whose latest entry is a failure: the next failure
// of it with the same code goes on from since.
type histCarry struct {
	check core.CheckName
	code  core.Code
	since int64
}

// histOpen is a mailbox's record in the history's open bucket: how many
// sealed chunks it has, the failures carried forward, and the runs not yet
// sealed (at least one once the mailbox has any history).
//
//	open = uvarint(sealed) uvarint(number of carries) carry... run...
//	carry = byte(check index, or headNamed and string(name)) string(code) varint(since, Unix ns)
type histOpen struct {
	sealed uint64
	carry  []histCarry
	runs   []histRun
}

var errHistoryShort = errors.New("record ends early")

func checkIndex(c core.CheckName) byte {
	if i := slices.Index(core.AllChecks, c); i >= 0 && i < headNamed {
		return byte(i)
	}
	return headNamed
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// appendCheckRef writes a check as its index, or headNamed and its name.
func appendCheckRef(dst []byte, head byte, c core.CheckName) []byte {
	i := checkIndex(c)
	dst = append(dst, head|i)
	if i == headNamed {
		dst = appendString(dst, string(c))
	}
	return dst
}

// appendRuns encodes runs as a chunk.
func appendRuns(dst []byte, runs []histRun) []byte {
	prev := int64(0)
	for _, r := range runs {
		dst = binary.AppendUvarint(dst, uint64(r.time-prev))
		prev = r.time
		dst = append(dst, byte(len(r.checks)))
		for _, c := range r.checks {
			var head byte
			if c.ok {
				head |= headOK
			}
			if c.code != "" {
				head |= headCode
			}
			if c.since != 0 {
				head |= headSince
			}
			dst = appendCheckRef(dst, head, c.check)
			dst = binary.AppendVarint(dst, c.ms)
			if c.code != "" {
				dst = appendString(dst, string(c.code))
			}
			if c.since != 0 {
				dst = binary.AppendVarint(dst, r.time-c.since)
			}
		}
	}
	return dst
}

func (o *histOpen) encode() []byte {
	dst := binary.AppendUvarint(nil, o.sealed)
	dst = binary.AppendUvarint(dst, uint64(len(o.carry)))
	for _, c := range o.carry {
		dst = appendCheckRef(dst, 0, c.check)
		dst = appendString(dst, string(c.code))
		dst = binary.AppendVarint(dst, c.since)
	}
	return appendRuns(dst, o.runs)
}

// histReader decodes the encoding; the first error sticks.
type histReader struct {
	b   []byte
	err error
}

func (r *histReader) uvarint() uint64 { return readNumber(r, binary.Uvarint) }
func (r *histReader) varint() int64   { return readNumber(r, binary.Varint) }

// readNumber reads one varint with read (binary.Uvarint or Varint).
func readNumber[T uint64 | int64](r *histReader, read func([]byte) (T, int)) T {
	v, n := read(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *histReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *histReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *histReader) fail() {
	if r.err == nil {
		r.err = errHistoryShort
	}
	r.b = nil
}

func (r *histReader) checkRef(head byte) core.CheckName {
	if i := head & headIndex; i != headNamed {
		if int(i) >= len(core.AllChecks) {
			r.err = errors.New("unknown check")
			r.b = nil
			return ""
		}
		return core.AllChecks[i]
	}
	return core.CheckName(r.string())
}

// runs decodes the rest of r as a chunk.
func (r *histReader) runs() []histRun {
	var out []histRun
	prev := int64(0)
	for len(r.b) > 0 && r.err == nil {
		run := histRun{time: prev + int64(r.uvarint())}
		prev = run.time
		n := int(r.byte())
		run.checks = make([]histCheck, 0, n)
		for range n {
			head := r.byte()
			c := histCheck{check: r.checkRef(head), ok: head&headOK != 0}
			c.ms = r.varint()
			if head&headCode != 0 {
				c.code = core.Code(r.string())
			}
			if head&headSince != 0 {
				c.since = run.time - r.varint()
			}
			run.checks = append(run.checks, c)
		}
		out = append(out, run)
	}
	return out
}

func decodeRuns(b []byte) ([]histRun, error) {
	r := &histReader{b: b}
	runs := r.runs()
	return runs, r.err
}

func decodeOpen(b []byte) (histOpen, error) {
	r := &histReader{b: b}
	o := histOpen{sealed: r.uvarint()}
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		c := histCarry{check: r.checkRef(r.byte())}
		c.code = core.Code(r.string())
		c.since = r.varint()
		o.carry = append(o.carry, c)
	}
	o.runs = r.runs()
	return o, r.err
}
