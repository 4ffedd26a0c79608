package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// UserFile is a kind of file a user names by its path (a key, a CSV list, a
// legacy configuration): what it is called in messages, how large it may
// be, and what to do when it cannot be read. ReadUserFile is the one reader
// of such files.
type UserFile struct {
	What string // "key file": what the message calls it
	Max  int64  // its size cap in bytes
	Fix  string // what to do when it cannot be read, e.g. "check the path"
}

// The caps on files read from a user-given path. A real key is a few KB, so
// 64 KiB leaves room for any Google credential and refuses a wrong file
// (a disk image, /dev/zero) before it fills memory or the store.
var (
	CredentialFile = UserFile{"key file", 64 << 10, "check the path and that this user may read it"}
	SecretFile     = UserFile{"client secret file", 64 << 10, "check the path and that this user may read it"}
	endpointsFile  = UserFile{"endpoints file", 64 << 10, "pass the endpoints.json written by `mailoauth sandbox` or your own"}
	caFile         = UserFile{"CA file", 1 << 20, "restore it or correct ca_file in the endpoints file"}
	// A CSV list of 100,000 mailboxes is about 8 MB, 66 MB at the longest
	// addresses and names.
	CSVFile = UserFile{"CSV file", 64 << 20, "check the path"}
	// A legacy configuration carries every mailbox with its password.
	legacyFile = UserFile{"legacy configuration", 64 << 20, "export it again from the host product and pass its path to --legacy"}
)

// WithoutPath is err without the operation and path an *os.PathError in
// its chain wraps it in ("open /x: no such file" becomes "no such file"),
// for a sentence that names the file in its own words.
func WithoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadUserFile reads the file at path as kind, refusing what cannot be
// such a file in one sentence each: a directory, a device (/dev/zero), a
// named pipe (which would block the read forever), a socket, or a file over
// the kind's cap. It opens without blocking, checks the opened file itself
// (not only the path), reads at most the cap and stops when ctx ends. A
// file that cannot be opened is an environment error (exit 3); one of the
// wrong type or size is bad input (exit 2).
func ReadUserFile(ctx context.Context, path string, kind UserFile) ([]byte, error) {
	name := SafeText(path)
	if fi, err := os.Stat(path); err == nil { // refuse before opening: opening a device may act
		if err := kind.check(name, fi); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, &InputError{Msg: fmt.Sprintf("cannot read the %s %s: %v; %s", kind.What, name, WithoutPath(err), kind.Fix), Env: true, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &InputError{Msg: fmt.Sprintf("cannot read the %s %s: %v; %s", kind.What, name, WithoutPath(err), kind.Fix), Env: true}
	}
	if err := kind.check(name, fi); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(min(fi.Size(), kind.Max)) + 1)
	r := io.LimitReader(f, kind.Max+1)
	chunk := make([]byte, 32<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &InputError{Msg: fmt.Sprintf("cannot read the %s %s: %v; %s", kind.What, name, WithoutPath(err), kind.Fix), Env: true}
		}
	}
	if int64(buf.Len()) > kind.Max {
		return nil, kind.tooLarge(name, int64(buf.Len()))
	}
	return buf.Bytes(), nil
}

// check refuses what is not a regular file of at most the cap.
func (k UserFile) check(name string, fi fs.FileInfo) error {
	m := fi.Mode()
	var what string
	switch {
	case m.IsRegular():
		if fi.Size() > k.Max {
			return k.tooLarge(name, fi.Size())
		}
		return nil
	case m.IsDir():
		return Inputf("%s is a directory, not %s; name the file itself, e.g. %s/FILE", name, k.a(), name)
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), which would wait for a writer"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		what = "a device"
	default:
		what = "not a regular file"
	}
	return Inputf("%s is %s, not %s; save the %s as a regular file and name that", name, what, k.a(), k.What)
}

// a is the kind's name with its indefinite article.
func (k UserFile) a() string {
	if strings.ContainsRune("aeiouAEIOU", rune(k.What[0])) {
		return "an " + k.What
	}
	return "a " + k.What
}

// CheckSize refuses size bytes of this kind named name (e.g. "the pasted
// JSON") when they are over its cap, as ReadUserFile does for a file.
func (k UserFile) CheckSize(name string, size int64) error {
	if size > k.Max {
		return Inputf("%s is %s, more than %s can be (at most %s); paste only the %s", SafeText(name), byteSize(size), k.a(), byteSize(k.Max), k.What)
	}
	return nil
}

func (k UserFile) tooLarge(name string, size int64) error {
	return Inputf("%s is %s, more than %s can be (at most %s); name the right file", name, byteSize(size), k.a(), byteSize(k.Max))
}

// byteSize is n in the unit that reads best: 512 bytes, 64 KiB, 50.0 MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.4g KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.4g MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.4g GiB", float64(n)/(1<<30))
}
