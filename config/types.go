package config

import "time"

// Config is a fully resolved fail2ban configuration tree: the daemon
// settings from fail2ban.conf and every jail of jail.conf and its overrides.
type Config struct {
	// Dir is the configuration directory that was read ("embedded" for the
	// built-in default).
	Dir string
	// Daemon holds fail2ban.conf's [Definition] section.
	Daemon Daemon
	// Jails are the enabled jails that resolved without error, in the order
	// fail2ban lists them (the order of the sections in the merged tree).
	Jails []*Jail
	// Broken lists the enabled jails that could not be resolved. Each error
	// names the file, section and option at fault. A broken jail never
	// stops the others.
	Broken []error
	// Warnings lists what fail2ban would log as a warning while reading
	// (invalid numbers replaced by defaults, jails without actions).
	Warnings []string

	// order lists the enabled jails, resolved or broken, in the order
	// fail2ban reads them (the order of Commands).
	order []string
}

// Daemon is fail2ban.conf's [Definition] section.
type Daemon struct {
	LogLevel     string
	LogTarget    string
	Socket       string
	PidFile      string
	DBFile       string
	DBPurgeAge   time.Duration
	DBMaxMatches int
	// Options holds every [Definition] option after interpolation, keyed
	// by lower-case option name, with fail2ban's defaults for the options
	// it knows.
	Options map[string]string
	// Thread holds fail2ban.conf's [Thread] options after interpolation,
	// keyed by lower-case option name; nil when there is no [Thread]
	// section.
	Thread map[string]string

	// dbMaxMatchesNone is set when fail2ban sends dbmaxmatches as None
	// (fail2ban.conf has no [Definition] section).
	dbMaxMatchesNone bool
}

// LogPath is one logpath entry of a jail: a path or glob, and whether only
// new lines are read (fail2ban's " tail" suffix).
type LogPath struct {
	Pattern string
	Tail    bool
}

// Jail is one resolved jail section.
type Jail struct {
	Name    string
	Enabled bool

	// Filter is the resolved filter (filter.d/NAME.conf with its includes
	// and the jail's filter parameters applied).
	Filter *Filter

	LogPaths    []LogPath
	Backend     string            // auto, polling, pyinotify, systemd
	BackendOpts map[string]string // e.g. journalpath= for systemd[...]
	LogEncoding string

	MaxRetry   int
	MaxMatches int
	FindTime   time.Duration
	// BanTime is the ban duration; a negative value means permanent.
	BanTime time.Duration

	IgnoreIP   []string // addresses, CIDRs or host names as written
	IgnoreSelf bool
	UseDNS     string // yes, warn, no, raw

	// Ban action, resolved: BanAction is the banaction option
	// (e.g. "nftables-multiport"); Actions are the jail's action lines
	// with their parameters.
	BanAction string
	Actions   []Action
	Port      string // e.g. "ssh" or "http,https" or "0:65535"
	Protocol  string // tcp, udp, all, or a list
	Chain     string

	// Options holds every option of the jail section after interpolation,
	// keyed by lower-case option name, for what the typed fields do not
	// cover yet.
	Options map[string]string

	// opts are the jail's template options in fail2ban's order (the
	// values fail2ban's JailReader converts into commands).
	opts *omap
}

// Filter is a resolved filter definition.
type Filter struct {
	Name string
	// Params are the jail's parameters for the filter (filter = NAME[k=v]).
	Params       map[string]string
	PrefRegex    string
	FailRegex    []string
	IgnoreRegex  []string
	DatePattern  string
	JournalMatch string // as written; "+" separates OR groups
	MaxLines     int
	LogType      string
	// Options holds every [Definition] and [Init] option after
	// interpolation, keyed by lower-case option name.
	Options map[string]string

	// comb is the filter's combined options in fail2ban's order, without
	// the options the jail sets itself (what FilterReader converts).
	comb *omap
}

// Action is one resolved action of a jail: the action.d name and the
// parameters given in the jail (name[k=v, ...]).
type Action struct {
	Name   string
	Params map[string]string
	// ParamOrder lists the keys of Params in the order they were written.
	ParamOrder []string
	// ActName is the action's unique name within the jail (fail2ban's
	// actname: the file name, suffixed when a name= parameter differs).
	ActName string
	// Options holds the resolved action: its [Definition] commands and
	// [Init] options (jail parameters applied, <tags> substituted except
	// those filled in at ban time), keyed by lower-case option name.
	// Empty for Python (.py) actions.
	Options map[string]string
	// OptionOrder lists the keys of Options in fail2ban's order.
	OptionOrder []string
	// Init holds the action's [Init] options with the jail's parameters
	// applied, as fail2ban hands them to its server: <tags> not yet
	// substituted (conditional keys such as "addr_set?family=inet6"
	// included). Empty for Python (.py) actions.
	Init map[string]string
	// InitOrder lists the keys of Init in fail2ban's order.
	InitOrder []string
}

// IsNative reports whether f2bd implements the action itself as a ban into
// its nftables sets (the nftables and iptables families of banactions).
func (a Action) IsNative() bool {
	switch a.Name {
	case "nftables", "nftables-multiport", "nftables-allports",
		"iptables", "iptables-multiport", "iptables-allports",
		"iptables-new", "iptables-ipset", "iptables-ipset-proto6",
		"iptables-ipset-proto6-allports":
		return true
	}
	return false
}
