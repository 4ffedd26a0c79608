//go:build linux

package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockHolder names the process holding the flock on path, from /proc/locks
// and /proc/PID/comm: "another mailoauth (pid N)" only when it is one,
// else "another process (pid N, NAME)", or "another process (pid unknown)".
func lockHolder(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "another process (pid unknown)"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "another process (pid unknown)"
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return "another process (pid unknown)"
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
		if len(f) < 6 || f[1] != "FLOCK" || f[5] != want {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		switch name := strings.TrimSpace(string(comm)); {
		case err != nil:
			return fmt.Sprintf("another process (pid %d)", pid)
		case name == "mailoauth":
			return fmt.Sprintf("another mailoauth (pid %d)", pid)
		default:
			return fmt.Sprintf("another process (pid %d, %s)", pid, name)
		}
	}
	return "another process (pid unknown)"
}
