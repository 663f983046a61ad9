// Package nft keeps f2bd's bans in the kernel: nftables set elements with
// kernel-enforced timeouts, written over netlink with
// github.com/google/nftables on one long-lived connection.
//
// The ruleset mirrors fail2ban's nftables action: one inet-family table
// (DefaultTable, "f2b"), one base chain hooked at input with filter type and
// priority -1, and per jail two sets, f2b-<jail>-v4 (ipv4_addr) and
// f2b-<jail>-v6 (ipv6_addr), both with the timeout flag, each matched by
// one rule such as
//
//	meta l4proto tcp th dport 22 ip saddr @f2b-sshd-v4 counter reject
//
// Setup is idempotent and keeps existing bans, so a restarted daemon
// finds the kernel still enforcing them. Ban refreshes the timeout of
// elements already present, on every kernel (an add, delete and add of the
// element in one atomic batch). Unban ignores elements that are already
// gone (expired), which a plain netlink delete would not: it fails and
// rolls back its whole batch.
//
// Large requests are split so that no netlink attribute exceeds its 16-bit
// length (at most 1000 elements per message) and no batch exceeds the
// socket send buffer.
//
// Subnet bans (Ban.Prefix) live in two further sets per jail,
// f2b-<jail>-net4 and -net6, with flags interval,timeout, matched by their
// own rules: single addresses stay in the hash sets, several times faster
// to fill than the kernel's interval (rbtree) sets (BenchmarkSetBackend).
// Prefixes never overlap; the wider ban wins (see Ban). Tables of the
// previous, address-only layout are upgraded in place by Setup.
//
// Jails may ask for other hooks and priorities (JailSpec.Hook, Priority),
// getting their own base chains, and for any of fail2ban's blocktype
// spellings. Counters reads the rules' packet counters; Watch notices when
// the table, a chain, a set or rules disappear behind f2bd's back, so that
// the caller can run Setup again and re-ban.
//
// Subpackage nftest creates throw-away network namespaces for tests.
package nft
