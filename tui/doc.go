// Package tui is the mailoauth terminal wizard: a Bubble Tea v2 program that
// walks an administrator through the procedure of connecting a server
// product's mailboxes to Gmail / Google Workspace with OAuth 2.0 (profile,
// domain, credentials, scope authorization, mailboxes, live test, summary).
//
// Every validation, check and message comes from package core; every step is
// saved to the store when it is left, so quitting never loses finished work
// and a restart resumes where the administrator stopped. New builds the root
// model (for teatest and the SSH server), Run runs it on the terminal.
//
// tui imports core, core's subpackages and store; it must never import
// cmd/... or tui/sshserver (which serves it). Keys are matched only with
// key.Matches on the bindings of the one keymap (keys.go), which every
// component reads from its context (c.keys), and every key the help or a
// screen names is one of its bindings.
package tui
