// Package integration holds f2bd's end-to-end tests. They build a private
// network topology out of Linux network namespaces, run a real OpenSSH
// server in one namespace and real SSH clients (the "attackers") in another,
// and observe the effect of bans through real TCP connections and through
// the nftables ruleset of the server namespace.
//
// Everything lives in _test.go files; this file only exists so that the
// package has a non-test source file and "go build ./..." stays quiet.
//
// The tests need root and a few tools (ip, nft, sshd, ssh, sshpass, nc,
// nsenter). When something is missing they skip, unless the environment
// variable CI is "true", in which case they fail. They never change the
// host network namespace: every interface, address and nftables object is
// created inside namespaces the test made, and the host ruleset is compared
// before and after.
package integration
