package daemon

import (
	"fmt"
	"strings"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/nft"
)

// jailSpec turns a jail's ban action into the kernel rules f2bd builds
// natively. The first nftables- or iptables-family action of the jail
// decides (its parameters override the jail's port and protocol); a jail
// with none cannot be enforced yet and is refused.
func jailSpec(c *config.Jail) (nft.JailSpec, error) {
	var act *config.Action
	for i := range c.Actions {
		if c.Actions[i].IsNative() {
			act = &c.Actions[i]
			break
		}
	}
	if act == nil {
		if a := (config.Action{Name: c.BanAction}); a.IsNative() {
			act = &a
		} else {
			names := make([]string, len(c.Actions))
			for i, a := range c.Actions {
				names[i] = a.Name
			}
			return nft.JailSpec{}, fmt.Errorf("jail %s: no nftables or iptables ban action among %v: f2bd cannot enforce its bans yet", c.Name, names)
		}
	}
	// The jail's parameters for the action, else the action's own
	// resolved options ([Init] defaults), else def.
	param := func(k, def string) string {
		for _, m := range []map[string]string{act.Params, act.Options} {
			if v, ok := m[k]; ok && v != "" && !strings.Contains(v, "<") {
				return v
			}
		}
		return def
	}
	spec := nft.JailSpec{
		Name:      c.Name,
		Blocktype: param("blocktype", nft.BlocktypeReject),
		Hook:      param("chain_hook", ""),
		Priority:  param("chain_priority", ""),
	}
	if spec.Hook == "" {
		// iptables actions name a built-in chain (INPUT, FORWARD...).
		switch h := strings.ToLower(param("chain", "")); h {
		case "input", "forward", "output", "prerouting", "postrouting":
			spec.Hook = h
		}
	}
	if !strings.HasSuffix(act.Name, "allports") && act.Name != "iptables-ipset-proto6-allports" {
		ports, err := nft.ParsePorts(param("port", c.Port))
		if err != nil {
			return nft.JailSpec{}, fmt.Errorf("jail %s: action %s: port: %w", c.Name, act.Name, err)
		}
		spec.Ports = ports
	}
	for _, p := range strings.FieldsFunc(param("protocol", c.Protocol), func(r rune) bool { return r == ',' || r == ' ' }) {
		if p != "all" {
			spec.Protocols = append(spec.Protocols, p)
		}
	}
	if err := spec.Validate(); err != nil {
		return nft.JailSpec{}, fmt.Errorf("jail %s: action %s: %w", c.Name, act.Name, err)
	}
	return spec, nil
}
