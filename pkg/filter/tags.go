package filter

import (
	"regexp"
	"strconv"
	"strings"
)

// Address expressions (Python syntax) with fail2ban's matching behaviour.
const (
	// reIP4 is a dotted quad, optionally written IPv4-mapped (::ffff:a.b.c.d).
	reIP4 = `(?:::f{4}f?f?:)?(?P<ip4>\d{1,3}(?:\.\d{1,3}){3})`
	// reIP6 is a run of 1-7 hex groups or empty groups, each ending in one
	// or two colons, closed by a hex group or a colon.
	reIP6 = `(?P<ip6>(?:[0-9A-Fa-f]{1,4}:{1,2}|::){1,7}(?:[0-9A-Fa-f]{1,4}|:))`
	// reDNS is a host name: word characters, dots, dashes and carets, ending in a word character.
	reDNS    = `(?P<dns>[\w.^-]*\w)`
	reCIDR   = `(?P<cidr>\d+)`
	reAddr   = `\[?(?:` + reIP4 + `|` + reIP6 + `)\]?`
	reHost   = `(?:` + reAddr + `|` + reDNS + `)`
	reSubnet = `\[?(?:` + reIP4 + `|` + reIP6 + `)(?:/` + reCIDR + `)?\]?`
)

// staticTags maps the fixed tags to their expressions.
var staticTags = map[string]string{
	"IP4": reIP4, "F-IP4/": reIP4,
	"IP6": reIP6, "F-IP6/": reIP6,
	"ADDR": reAddr, "F-ADDR/": reAddr,
	"CIDR": reCIDR, "F-CIDR/": reCIDR,
	"SUBNET": reSubnet, "F-SUBNET/": reSubnet,
	"DNS": reDNS, "F-DNS/": reDNS,
	"F-ID/":   `(?P<fid>\S+)`,
	"F-PORT/": `(?P<fport>\w+)`,
}

var (
	tagRE        = regexp.MustCompile(`</?[\w-]+/?>`)
	customTagRE  = regexp.MustCompile(`^(/?)F-([A-Z0-9_-]+)$`)
	globFlagsRE  = regexp.MustCompile(`(^|[^\\])\((?:\?:)?(\(\?[a-z]+)\)`)
	complexNameR = regexp.MustCompile(`^(alt_|tuple_)(.*?)(?:_\d+)?$`)
)

// groupName maps a custom tag name to its group name.
func groupName(tag string) string {
	tag = strings.ToLower(tag)
	switch tag {
	case "id":
		return "fid"
	case "port":
		return "fport"
	}
	return tag
}

// ExpandTags replaces fail2ban tags (<HOST>, <F-USER>...</F-USER>, ...) in a
// failregex with Python regex text. useDNS "no" makes <HOST> match addresses only.
func ExpandTags(re, useDNS string) string {
	open := map[string]bool{}
	skip := 0
	out := tagRE.ReplaceAllStringFunc(re, func(tag string) string {
		name := tag[1 : len(tag)-1]
		switch name {
		case "HOST":
			if useDNS == "no" {
				return reAddr
			}
			return reHost
		case "SKIPLINES":
			s := `\n(?P<skiplines` + strconv.Itoa(skip) + `>(?:(?:.*\n)*?))`
			skip++
			return s
		}
		if s, ok := staticTags[name]; ok {
			return s
		}
		m := customTagRE.FindStringSubmatch(name)
		if m == nil {
			return tag
		}
		if m[1] != "" {
			if open[m[2]] {
				return ")"
			}
			return tag
		}
		open[m[2]] = true
		return "(?P<" + groupName(m[2]) + ">"
	})
	// fail2ban turns global flags wrapped in a group, ((?i)...) or
	// (?:(?i)...), into local flags (?i:...).
	return globFlagsRE.ReplaceAllString(out, "${1}${2}:")
}
