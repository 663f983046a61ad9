// Package journal reads the systemd journal the way fail2ban's systemd
// backend does: it applies a filter's journalmatch, turns each entry into the
// one-line form the filters' "journal" logtype prefix expects
// ("host ident[pid]: message"), and follows the journal for new entries.
//
// Two implementations share one API. When built with cgo, the package uses
// sd-journal through github.com/coreos/go-systemd/v22/sdjournal, which
// dlopens libsystemd.so.0 at run time (building needs the libsystemd-dev
// headers; a statically linked cgo binary crashes when it opens a journal, so
// build static binaries with CGO_ENABLED=0). Without cgo, the package runs
// journalctl(1) as a subprocess in JSON follow mode and decodes its output.
// The two differ only at the edges: an entry with several MESSAGE fields
// yields all of them joined by spaces (as fail2ban does) from journalctl but
// only the last one from sd-journal, and journal open flags reach journalctl
// only.
//
// A Reader is opened with Open, delivers entries through Follow until its
// context ends, and is released with Close. Matches, ParseMatches and
// Matches.WidenSSH handle journalmatch expressions; Matches.Match checks
// one against an entry's fields (see Options.Fields), so that one reader
// can serve several jails.
package journal
