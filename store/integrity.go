package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A damaged database file (cut short by a crash or a full disk, a page
// overwritten) must end in a sentence, never in SIGBUS or one of bbolt's
// assertion panics. Three layers see to it:
//
//   - precheck reads the two header (meta) pages itself before bbolt maps
//     the file and refuses a file shorter than the pages its header counts:
//     reading a mapped page past the end of a file is SIGBUS;
//   - guard runs every bbolt call with memory faults turned into panics
//     (debug.SetPanicOnFault) and turns any panic into ErrDamaged;
//   - CheckIntegrity (doctor) reads every record and runs bbolt's own check.
//
// The sentence names the last backup beside the store that passes the same
// checks, and the commands that put it back.

// bbolt's on-disk header (internal/common.Meta), after the 16-byte page
// header: magic, version, page size, flags, root bucket (root page,
// sequence), freelist page, page count (high water mark), txid, checksum.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	metaOffset     = 16
	metaSumEnd     = metaOffset + 56 // the checksum covers everything before it
	minBoltPage    = 1024
	maxHeaderProbe = 14 // page sizes 1 KB .. 16 MB, as bbolt probes them
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// parseMeta decodes one header page; ok is false unless magic, version and
// checksum are right.
func parseMeta(b []byte) (m boltMeta, ok bool) {
	if len(b) < metaSumEnd+8 {
		return m, false
	}
	le := binary.LittleEndian
	if le.Uint32(b[metaOffset:]) != boltMagic || le.Uint32(b[metaOffset+4:]) != boltVersion {
		return m, false
	}
	h := fnv.New64a()
	h.Write(b[metaOffset:metaSumEnd])
	if h.Sum64() != le.Uint64(b[metaSumEnd:]) {
		return m, false
	}
	m = boltMeta{pageSize: le.Uint32(b[metaOffset+8:]), pgid: le.Uint64(b[metaOffset+40:]), txid: le.Uint64(b[metaOffset+48:])}
	return m, m.pageSize >= minBoltPage
}

// precheck returns what is wrong with the database file at path before
// bbolt maps it, or "" when its header is sound and the file holds every
// page the header counts. A missing file is not precheck's business; an
// empty one is damage only when the store's key file exists (a store was
// there: bbolt writes the header before the key is made).
func precheck(path, keyPath string) string {
	what := precheckOnce(path, keyPath)
	if what != "" {
		// Another process may be committing right now (the header read
		// while the file grew): look again before calling it damage.
		time.Sleep(50 * time.Millisecond)
		what = precheckOnce(path, keyPath)
	}
	return what
}

func precheckOnce(path, keyPath string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	size := fi.Size()
	if size == 0 {
		if _, err := os.Stat(keyPath); err == nil {
			return "the file is empty (0 bytes) but its key file exists"
		}
		return ""
	}
	read := func(off int64) []byte {
		b := make([]byte, 4096)
		n, _ := f.ReadAt(b, off)
		return b[:n]
	}
	var metas []boltMeta
	if m, ok := parseMeta(read(0)); ok {
		metas = append(metas, m)
		if m1, ok := parseMeta(read(int64(m.pageSize))); ok {
			metas = append(metas, m1)
		}
	} else {
		for i := 0; i <= maxHeaderProbe; i++ {
			if m1, ok := parseMeta(read(int64(minBoltPage) << i)); ok && m1.pageSize == minBoltPage<<i {
				metas = append(metas, m1)
				break
			}
		}
	}
	if len(metas) == 0 {
		if size < 2*minBoltPage {
			return fmt.Sprintf("it is cut short: %d bytes, not even its header", size)
		}
		return "neither of its two header pages is valid: not a mailoauth store, or overwritten"
	}
	// bbolt uses the valid header with the higher transaction id.
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	// The size read after the header: a writer grows the file before it
	// writes the header that counts the new pages, and never shrinks it.
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return fmt.Sprintf("it is cut short: %d bytes where its header counts %d", size, need)
	}
	return ""
}

// notAStore tells a file mailoauth never made (a mistyped --db naming a
// certificate, a README) from a damaged store, once precheck found it
// wrong: it has no valid first header, and nothing of a store is beside it
// (no key file while MAILOAUTH_KEY is unset, no backup). Every store
// mailoauth makes gets its header, then its key file.
func notAStore(path, keyPath string) bool {
	if v, ok := os.LookupEnv(KeyEnv); ok && strings.TrimSpace(v) != "" {
		return false
	}
	if _, err := os.Stat(keyPath); err == nil || len(Backups(path)) > 0 {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	_, ok := parseMeta(b[:n])
	return !ok
}

// guard runs fn, a call into bbolt, with memory faults turned into panics,
// and turns a panic into the damaged-store sentence for path.
func guard(path string, fn func() error) error {
	err := guardPlain(fn)
	var pe *panicError
	if errors.As(err, &pe) {
		return damagedError(path, pe.Error())
	}
	return err
}

// panicError is a panic (or a memory fault) inside bbolt, as an error.
type panicError struct{ v any }

func (e *panicError) Error() string { return fmt.Sprintf("reading it failed: %v", e.v) }

// guardPlain is guard without the sentence: the panic as a panicError.
func guardPlain(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = &panicError{r}
		}
	}()
	return fn()
}

// damagedError is the sentence for a damaged store: what is wrong, the last
// good backup beside it and how to put it back.
func damagedError(path, what string) error {
	e := &DamagedError{Path: path, What: what, Aside: fmt.Sprintf("mv %s %s", shq(path), shq(path+".damaged"))}
	if bak, when, ok := lastGoodBackup(path); ok {
		restore := e.Aside + fmt.Sprintf(" && cp %s %s", shq(bak), shq(path))
		if ownKeyOpens(bak) { // sealed under its own key: the restore needs it
			if _, err := os.Stat(path + ".key"); err == nil { // kept with the damaged file
				restore += fmt.Sprintf(" && mv %s %s", shq(path+".key"), shq(path+".damaged.key"))
			}
			restore += fmt.Sprintf(" && cp %s %s", shq(bak+".key"), shq(path+".key"))
		}
		e.Backup, e.When, e.Restore = bak, when, restore
	}
	return e
}

// Backups lists the backups beside the store at path (<db>.*.bak), newest
// first.
func Backups(path string) []string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	names, _ := filepath.Glob(globEscape(path) + ".*.bak")
	type item struct {
		name string
		mod  time.Time
	}
	var items []item
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && fi.Mode().IsRegular() {
			items = append(items, item{n, fi.ModTime()})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].mod.After(items[j].mod) })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.name
	}
	return out
}

func globEscape(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}

// lastGoodBackup is the newest backup beside the store that passes
// VerifyFile, and when it was written.
func lastGoodBackup(path string) (string, time.Time, bool) {
	for _, b := range Backups(path) {
		if VerifyFile(b) == nil {
			fi, err := os.Stat(b)
			if err == nil {
				return b, fi.ModTime(), true
			}
		}
	}
	return "", time.Time{}, false
}

// VerifyFile checks a database file that nobody else writes (a backup):
// its header, every record, and bbolt's own consistency check. It needs
// no key.
func VerifyFile(path string) error {
	if what := precheck(path, ""); what != "" {
		return errors.New(what)
	}
	return readOnlyView(path, checkTx)
}

// readOnlyView runs fn in a read transaction of the database file at path
// (a backup), opened read-only and guarded.
func readOnlyView(path string, fn func(tx *bolt.Tx) error) error {
	var db *bolt.DB
	if err := guardPlain(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
		return err
	}); err != nil {
		return err
	}
	defer db.Close()
	return guardPlain(func() error { return db.View(fn) })
}

// checkTx reads every key and value of every bucket (on the calling
// goroutine, where guard catches a fault), then runs bbolt's page-level
// check (free pages, reachability), whose goroutine is safe once every
// page has been read here.
func checkTx(tx *bolt.Tx) error {
	var sum byte
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			for _, c := range k {
				sum ^= c
			}
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					return walk(nb)
				}
				return nil
			}
			for _, c := range v {
				sum ^= c
			}
			return nil
		})
	}
	if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(b) }); err != nil {
		return err
	}
	_ = sum
	var problems []string
	for err := range tx.Check() {
		if len(problems) < 3 {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// CheckIntegrity reads every record of the store and runs bbolt's
// consistency check; a problem comes back as ErrDamaged with the last good
// backup (doctor).
func (s *Store) CheckIntegrity() error {
	err := s.view(checkTx)
	if err != nil && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrLocked) && !errors.Is(err, fs.ErrClosed) {
		return damagedError(s.path, err.Error())
	}
	return err
}

// writeBackup writes a consistent copy of the database as of tx to dst:
// into a temporary file in the same directory (its name ends in .partial,
// never .bak), synced, verified with VerifyFile, then renamed over dst and
// the directory synced. A crash leaves at most a .partial file, which the
// next backup of the same store removes; dst is either absent or whole.
func writeBackup(tx *bolt.Tx, dbPath, dst string) error {
	dir := filepath.Dir(dst)
	if stale, _ := filepath.Glob(globEscape(dbPath) + ".*.partial"); len(stale) > 0 {
		for _, p := range stale { // the store is locked: no backup of it is under way
			_ = os.Remove(p)
		}
	}
	f, err := os.CreateTemp(dir, filepath.Base(dst)+".*.partial")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tx.WriteTo(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := VerifyFile(tmp); err != nil {
		return fmt.Errorf("the copy does not read back whole (%v)", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// shq quotes a path for a shell command line when it needs it.
func shq(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '.' || r == '@' || r == '-' || r == '_' || r == ':' || r == '/' || r == ',' || r == '+' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
