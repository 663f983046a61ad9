package control

// Status is the reply to "status": the running jails.
type Status struct {
	Jails []string `json:"jails"`
}

// JailStatus is the reply to "status <jail>", with the fields
// fail2ban-client shows.
type JailStatus struct {
	Name            string   `json:"name"`
	CurrentlyFailed int64    `json:"currently_failed"`
	TotalFailed     int64    `json:"total_failed"`
	Files           []string `json:"files,omitempty"`
	JournalMatches  string   `json:"journal_matches,omitempty"`
	CurrentlyBanned int      `json:"currently_banned"`
	TotalBanned     int64    `json:"total_banned"`
	Banned          []string `json:"banned"`
}

// JailBans is one jail's banned addresses, in the reply to "banned".
type JailBans struct {
	Jail  string   `json:"jail"`
	Addrs []string `json:"addrs"`
}

// BanResult is the reply to "set <jail> banip ...".
type BanResult struct {
	// Banned counts the addresses now in the kernel.
	Banned int `json:"banned"`
	// Ignored lists the addresses the jail never bans (loopback,
	// ignoreip, the host's own), which were left out.
	Ignored []string `json:"ignored,omitempty"`
}
