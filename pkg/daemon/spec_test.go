package daemon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/config"
)

func TestJailSpecFromActions(t *testing.T) {
	for _, tc := range []struct {
		name string
		jail config.Jail
		want string // ports protocols blocktype
		err  string
	}{
		{
			name: "multiport with the jail's port",
			jail: config.Jail{Name: "sshd", Port: "ssh", Protocol: "tcp",
				Actions: []config.Action{{Name: "nftables-multiport", Params: map[string]string{"port": "ssh", "protocol": "tcp"}}}},
			want: "[22-22] [tcp] reject",
		},
		{
			name: "action parameters override the jail",
			jail: config.Jail{Name: "web", Port: "http", Protocol: "tcp",
				Actions: []config.Action{{Name: "sendmail"}, {Name: "nftables", Params: map[string]string{"port": "80,443,8000:8100", "blocktype": "drop"}}}},
			want: "[80-80 443-443 8000-8100] [tcp] drop",
		},
		{
			name: "allports ignores ports",
			jail: config.Jail{Name: "recidive", Port: "0:65535", Protocol: "all",
				Actions: []config.Action{{Name: "nftables-allports"}}},
			want: "[] [] reject",
		},
		{
			name: "iptables means the same",
			jail: config.Jail{Name: "sshd", Port: "22", Protocol: "tcp",
				Actions: []config.Action{{Name: "iptables-multiport", Params: map[string]string{"blocktype": "REJECT --reject-with icmp-port-unreachable"}}}},
			want: "[22-22] [tcp] REJECT --reject-with icmp-port-unreachable",
		},
		{
			name: "action options give hook, priority and blocktype",
			jail: config.Jail{Name: "web", Port: "443", Protocol: "tcp",
				Actions: []config.Action{{Name: "nftables", Options: map[string]string{"chain_hook": "forward", "chain_priority": "-5", "blocktype": "drop"}}}},
			want: "[443-443] [tcp] drop forward -5",
		},
		{
			name: "iptables chain names the hook",
			jail: config.Jail{Name: "fw", Port: "22", Protocol: "tcp",
				Actions: []config.Action{{Name: "iptables", Options: map[string]string{"chain": "FORWARD"}}}},
			want: "[22-22] [tcp] reject forward",
		},
		{
			name: "a blocktype nftables cannot express is refused",
			jail: config.Jail{Name: "odd", Port: "22",
				Actions: []config.Action{{Name: "nftables", Params: map[string]string{"blocktype": "TARPIT"}}}},
			err: "jail odd: action nftables:",
		},
		{
			name: "banaction when no action line names one",
			jail: config.Jail{Name: "sshd", Port: "22", Protocol: "tcp", BanAction: "nftables-multiport"},
			want: "[22-22] [tcp] reject",
		},
		{
			name: "no native action",
			jail: config.Jail{Name: "mailonly", Port: "22", BanAction: "shorewall",
				Actions: []config.Action{{Name: "sendmail-whois"}}},
			err: "jail mailonly: no nftables or iptables ban action among [sendmail-whois]",
		},
		{
			name: "bad port",
			jail: config.Jail{Name: "x", Port: "nosuchservice-f2bd",
				Actions: []config.Action{{Name: "nftables-multiport"}}},
			err: "nosuchservice-f2bd",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := jailSpec(&tc.jail)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ports := make([]string, len(spec.Ports))
			for i, p := range spec.Ports {
				ports[i] = fmt.Sprintf("%d-%d", p.First, p.Last)
			}
			got := strings.TrimSpace(fmt.Sprintf("%v %v %s %s %s", ports, spec.Protocols, spec.Blocktype, spec.Hook, spec.Priority))
			if got != tc.want {
				t.Errorf("spec = %s, want %s", got, tc.want)
			}
			if spec.Name != tc.jail.Name {
				t.Errorf("spec name %q", spec.Name)
			}
		})
	}
}
