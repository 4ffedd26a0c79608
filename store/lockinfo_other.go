//go:build !linux

package store

func lockHolder(string) string { return "another process (pid unknown)" }
