package config

import (
	"embed"
	"io/fs"
)

//go:embed default
var defaultTree embed.FS

// Default returns f2bd's built-in configuration tree, laid out like
// /etc/fail2ban (fail2ban.conf, jail.conf, filter.d/), for hosts that have
// no fail2ban configuration of their own.
func Default() fs.FS {
	sub, err := fs.Sub(defaultTree, "default")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return sub
}
