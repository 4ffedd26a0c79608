package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file to write a CPU profile of this process to: a
// bench aid (`make bench-bulk PROFILE=DIR` sets it for each test run), not
// a documented interface.
const cpuProfileEnv = "MAILOAUTH_CPUPROFILE"

// startCPUProfile starts the CPU profile $MAILOAUTH_CPUPROFILE asks for and
// returns what stops it; without it, a no-op.
func startCPUProfile() func() {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mailoauth: %s: %v\n", cpuProfileEnv, err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
