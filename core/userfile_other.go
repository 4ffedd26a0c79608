//go:build !unix

package core

// openNonBlock: without named pipes to fear, a plain open.
const openNonBlock = 0
