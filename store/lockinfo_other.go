//go:build !linux

package store

func lockHolder(string) string { return "pid unknown" }
