// Package daemon wires f2bd together. Run reads top to bottom as the data
// flows:
//
//	sources (files, journal) -> jail (filter, ignore list, failure count)
//	  -> ban decisions -> banner (coalesced netlink batches) -> kernel sets
//
// plus the control socket that f2bctl talks to. Each stage is a package of
// its own; this package only connects them.
package daemon
