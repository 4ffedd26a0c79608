package sshserver

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sync"

	"charm.land/ssh"
)

// authorizedKeys is an OpenSSH authorized_keys file, parsed again whenever
// its size, modification time or inode changes, so removing a key refuses
// the next login without a restart. wish.WithAuthorizedKeys re-reads the
// file at every login too, but stops at the first line it cannot parse,
// which would lock out every key below it; here a bad line is skipped and
// reported.
type authorizedKeys struct {
	path string

	mu    sync.Mutex
	stamp string
	keys  []ssh.PublicKey
}

func loadAuthorizedKeys(path string) (*authorizedKeys, error) {
	ak := &authorizedKeys{path: path}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("cannot read authorized keys file %s: %v; create it with the administrators' public keys (one `ssh-ed25519 AAAA... name` per line)", path, unwrap(err))
	}
	if _, err := ak.allowed(nil); err != nil {
		return nil, err
	}
	return ak, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// allowed reports whether key is listed; nil only refreshes. A file that
// cannot be read refuses every key.
func (ak *authorizedKeys) allowed(key ssh.PublicKey) (bool, error) {
	ak.mu.Lock()
	defer ak.mu.Unlock()
	fi, err := os.Stat(ak.path)
	if err != nil {
		ak.keys, ak.stamp = nil, ""
		return false, fmt.Errorf("authorized keys file %s cannot be read (%v); every login is refused until it is restored", ak.path, unwrap(err))
	}
	var problem error
	if stamp := fileStamp(fi); stamp != ak.stamp {
		data, err := os.ReadFile(ak.path)
		if err != nil {
			ak.keys, ak.stamp = nil, ""
			return false, fmt.Errorf("authorized keys file %s cannot be read (%v); every login is refused until it is restored", ak.path, unwrap(err))
		}
		ak.keys, problem = parseAuthorizedKeys(data, ak.path)
		ak.stamp = stamp
	}
	if key == nil {
		return false, problem
	}
	for _, k := range ak.keys {
		if ssh.KeysEqual(k, key) {
			return true, problem
		}
	}
	return false, problem
}

func fileStamp(fi os.FileInfo) string {
	return fmt.Sprintf("%d/%d/%s", fi.Size(), fi.ModTime().UnixNano(), inode(fi))
}

func parseAuthorizedKeys(data []byte, path string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	var bad []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			bad = append(bad, n)
			continue
		}
		keys = append(keys, k)
	}
	if len(bad) > 0 {
		return keys, fmt.Errorf("authorized keys file %s: line(s) %v are not public keys and were skipped; fix them", path, bad)
	}
	return keys, nil
}
