package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Counter counts the packets and bytes a jail's rules blocked.
type Counter struct {
	Packets, Bytes uint64
}

func (c *Counter) add(o Counter) { c.Packets += o.Packets; c.Bytes += o.Bytes }

// JailCounter is a jail's blocked traffic: the embedded Counter is the
// total, IPv4 and IPv6 its parts.
type JailCounter struct {
	Counter
	IPv4, IPv6 Counter
}

// Counters reads the counters of the rules of the jails of the last
// Setup, by jail name, summed over the jail's address and prefix rules.
// Counters start at zero when Setup (re)creates the rules. It fails if a
// chain cannot be read (for instance because the table was deleted
// behind f2bd's back).
func (fw *Firewall) Counters() (map[string]JailCounter, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	out := make(map[string]JailCounter)
	for _, k := range fw.state.owners {
		out[k.jail] = JailCounter{}
	}
	for name := range fw.state.chains {
		rules, err := fw.conn.GetRules(fw.table, &nftables.Chain{Name: name, Table: fw.table})
		if err != nil {
			return nil, fmt.Errorf("nft: counters: list chain %s: %w", name, err)
		}
		for _, r := range rules {
			var set string
			var c Counter
			for _, e := range r.Exprs {
				switch e := e.(type) {
				case *expr.Lookup:
					set = e.SetName
				case *expr.Counter:
					c = Counter{Packets: e.Packets, Bytes: e.Bytes}
				}
			}
			k, ok := fw.state.owners[set]
			if !ok {
				continue
			}
			jc := out[k.jail]
			jc.add(c)
			if k.v6 {
				jc.IPv6.add(c)
			} else {
				jc.IPv4.add(c)
			}
			out[k.jail] = jc
		}
	}
	return out, nil
}
