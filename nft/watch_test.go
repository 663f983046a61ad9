package nft

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/f2bd/f2bd/nft/nftest"
)

// TestWatch runs Watch in a namespace and changes the ruleset there with
// nft(8): each loss is reported once within a second, while f2bd's own
// Setup, Ban and Unban, even of 20000 elements, are not.
func TestWatch(t *testing.T) {
	fw, ns := openTest(t)
	web := JailSpec{Name: "web", Ports: []PortRange{{80, 80}}, Hook: "forward", Priority: "raw"}
	mustSetup(t, fw, sshd, web)
	ctx, cancel := context.WithCancel(context.Background())
	lost := make(chan time.Time, 10)
	done := make(chan error, 1)
	go func() { done <- fw.Watch(ctx, func() { lost <- time.Now() }) }()

	quiet := func(step string, d time.Duration) {
		t.Helper()
		select {
		case <-lost:
			t.Errorf("%s: lost called", step)
		case <-time.After(d):
		}
	}
	expectLost := func(step string, since time.Time) {
		t.Helper()
		select {
		case at := <-lost:
			if d := at.Sub(since); d > time.Second {
				t.Errorf("%s: lost called after %v", step, d)
			} else {
				t.Logf("%s: lost called after %v", step, d.Round(time.Millisecond))
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: lost not called within 2s", step)
		}
		quiet(step+" (debounce)", 300*time.Millisecond)
	}
	restore := func() {
		t.Helper()
		mustSetup(t, fw, sshd, web)
		var bans []Ban
		for i := range 20000 {
			bans = append(bans, Ban{Jail: "sshd", Addr: v6(i), Timeout: time.Hour})
		}
		bans = append(bans, Ban{Jail: "web", Prefix: pfx("192.0.2.0/24"), Timeout: time.Hour})
		if err := fw.Ban(bans); err != nil {
			t.Fatal(err)
		}
		if err := fw.Unban(bans[:100]); err != nil {
			t.Fatal(err)
		}
	}

	quiet("start", 300*time.Millisecond)
	restore()
	quiet("own Setup, Ban, Unban", 500*time.Millisecond)

	for _, cmd := range [][]string{
		{"flush", "ruleset"},
		{"delete", "table", "inet", DefaultTable},
		{"flush", "chain", "inet", DefaultTable, "forward_m300"},
		{"delete", "set", "inet", DefaultTable, "f2b-sshd-net6"},
	} {
		if cmd[1] == "set" {
			// A set referenced by a rule cannot be deleted; drop the
			// rules first, as an operator would.
			nftest.Output(t, ns, "nft", "flush", "chain", "inet", DefaultTable, ChainName)
		}
		start := time.Now()
		nftest.Output(t, ns, "nft", cmd...)
		expectLost(fmt.Sprint(cmd), start)
		restore()
		quiet("restore after "+fmt.Sprint(cmd), 300*time.Millisecond)
	}
	// Elements removed by others are the operator's business.
	nftest.Output(t, ns, "nft", "flush", "set", "inet", DefaultTable, "f2b-sshd-v6")
	quiet("nft flush set", 300*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("Watch did not return after cancel")
	}
}
