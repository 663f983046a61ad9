package nft

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// maxJailNameLen bounds the jail part of a set name; the kernel accepts
// names up to 255 bytes (NFT_NAME_MAXLEN 256 with the NUL).
const maxJailNameLen = 200

// SetName returns the name of the nftables set holding a jail's bans:
// "f2b-<jail>-v4" or "f2b-<jail>-v6". Characters other than ASCII letters,
// digits, '_', '-' and '.' are replaced by '_' (so the nft(8) command line
// can address the set) and overlong names are cut; whenever the jail name
// had to be changed, a hash of the original is appended so distinct jails
// never share a set.
func SetName(jail string, v6 bool) string {
	fam := "-v4"
	if v6 {
		fam = "-v6"
	}
	return "f2b-" + sanitize(jail) + fam
}

func sanitize(jail string) string {
	var b strings.Builder
	changed := false
	for i := 0; i < len(jail); i++ {
		c := jail[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
			changed = true
		}
	}
	s := b.String()
	if len(s) > maxJailNameLen {
		s = s[:maxJailNameLen]
		changed = true
	}
	if jail == "" {
		changed = true
	}
	if changed {
		h := fnv.New32a()
		h.Write([]byte(jail))
		s = fmt.Sprintf("%s_h%08x", s, h.Sum32())
	}
	return s
}

// PrefixSetName returns the name of the interval set holding a jail's
// prefix (subnet) bans: "f2b-<jail>-net4" or "f2b-<jail>-net6", the jail
// part made as in SetName. As address set names end in "-v4" or "-v6",
// the two kinds never collide, whatever the jail names.
func PrefixSetName(jail string, v6 bool) string {
	fam := "-net4"
	if v6 {
		fam = "-net6"
	}
	return "f2b-" + sanitize(jail) + fam
}
