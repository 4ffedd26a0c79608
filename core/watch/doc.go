// Package watch is mailoauth's watchman: it checks every mailbox of every
// profile on a schedule (the checks of a round spread evenly over the
// interval), keeps a state per mailbox and check (ok, failing, recovered,
// plus early warnings of known deadlines), alerts only when a state
// changes (re-notifying after a while), saves every result to the store's
// history, and exports Prometheus metrics and a /healthz summary.
//
// It reaches the store only through the small Source interface and runs
// the checks with core's Tester and bulk runner, so it must never import
// the store, the TUI or the command line (store, tui, cmd/...): they call
// it. Its clock is an interface, so tests drive rounds with a fake one.
package watch
