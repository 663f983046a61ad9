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
