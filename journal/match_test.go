package journal

import (
	"reflect"
	"testing"
)

func TestParseMatches(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Matches
	}{
		{"", nil},
		{"_SYSTEMD_UNIT=sshd.service + _COMM=sshd",
			Matches{{{"_SYSTEMD_UNIT", "sshd.service"}}, {{"_COMM", "sshd"}}}},
		{"A=1 B=2 + C=3", Matches{{{"A", "1"}, {"B", "2"}}, {{"C", "3"}}}},
		{"A=1\n\nB=2 + + C=", Matches{{{"A", "1"}}, {{"B", "2"}}, {{"C", ""}}}},
		{`MESSAGE='a b' X="say \"hi\" \q" Y=c\ d`,
			Matches{{{"MESSAGE", "a b"}, {"X", `say "hi" \q`}, {"Y", "c d"}}}},
		{"__CURSOR=x=y", Matches{{{"__CURSOR", "x=y"}}}},
	} {
		got, err := ParseMatches(tc.in)
		if err != nil {
			t.Errorf("ParseMatches(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMatches(%q) = %v, want %v", tc.in, got, tc.want)
		}
		back, err := ParseMatches(got.String())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("round trip of %q through %q: %v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"sshd", "=x", "lower=x", "1A=x", "A-B=x", "A='x", `A="x`, `A=x\`} {
		if m, err := ParseMatches(bad); err == nil {
			t.Errorf("ParseMatches(%q) = %v, want error", bad, m)
		}
	}
}

func TestWidenSSH(t *testing.T) {
	m, err := ParseMatches("_SYSTEMD_UNIT=sshd.service + _COMM=sshd + _SYSTEMD_UNIT=ssh.service PRIORITY=3 + _COMM=nginx")
	if err != nil {
		t.Fatal(err)
	}
	orig := m.String()
	got := m.WidenSSH().String()
	want := "_SYSTEMD_UNIT=sshd.service _SYSTEMD_UNIT=ssh.service + _COMM=sshd _COMM=sshd-session + " +
		"_SYSTEMD_UNIT=ssh.service PRIORITY=3 _SYSTEMD_UNIT=sshd.service + _COMM=nginx"
	if got != want {
		t.Errorf("WidenSSH:\n got %s\nwant %s", got, want)
	}
	if m.String() != orig {
		t.Errorf("WidenSSH modified its receiver: %s", m)
	}
	if again := m.WidenSSH().WidenSSH().String(); again != want {
		t.Errorf("WidenSSH twice: %s", again)
	}
}

func TestPIDText(t *testing.T) {
	for _, tc := range []struct{ syslogPID, pid, want string }{
		{"77", "78", "[77]"},
		{"", "78", "[78]"},
		{"0", "78", "[78]"},
		{"0", "0", ""},
		{"", "", ""},
		{" 12 ", "", "[12]"},
		{"0x1f", "", "[31]"},
		{"010", "", "[10]"},   // Python int("010") is 10
		{"abc", "5", "[abc]"}, // fail2ban would print [b'abc']
	} {
		r := record{syslogPID: tc.syslogPID, pid: tc.pid}
		if got := r.pidText(); got != tc.want {
			t.Errorf("SYSLOG_PID %q _PID %q: %q, want %q", tc.syslogPID, tc.pid, got, tc.want)
		}
	}
}

func TestMatchInGo(t *testing.T) {
	m, err := ParseMatches("_SYSTEMD_UNIT=sshd.service + _COMM=sshd")
	if err != nil {
		t.Fatal(err)
	}
	w := m.WidenSSH()
	for _, tc := range []struct {
		fields map[string]string
		want   bool
	}{
		{map[string]string{"_SYSTEMD_UNIT": "sshd.service"}, true},
		{map[string]string{"_SYSTEMD_UNIT": "ssh.service", "_COMM": "sshd-session"}, true},
		{map[string]string{"_COMM": "sshd"}, true},
		{map[string]string{"_SYSTEMD_UNIT": "nginx.service", "_COMM": "nginx"}, false},
		{nil, false},
	} {
		if got := w.Match(tc.fields); got != tc.want {
			t.Errorf("%v: Match = %v, want %v", tc.fields, got, tc.want)
		}
	}
	// Terms on different fields all hold; on one field, one of them.
	g, _ := ParseMatches("_SYSTEMD_UNIT=a.service _SYSTEMD_UNIT=b.service PRIORITY=3")
	if !g.Match(map[string]string{"_SYSTEMD_UNIT": "b.service", "PRIORITY": "3"}) ||
		g.Match(map[string]string{"_SYSTEMD_UNIT": "b.service", "PRIORITY": "4"}) ||
		g.Match(map[string]string{"_SYSTEMD_UNIT": "c.service", "PRIORITY": "3"}) {
		t.Error("group semantics differ from sd-journal's")
	}
	if !(Matches{}).Match(nil) {
		t.Error("empty matches must match everything")
	}
	if f := w.Fields(); len(f) != 2 || f[0] != "_SYSTEMD_UNIT" || f[1] != "_COMM" {
		t.Errorf("Fields = %v", f)
	}
	a, _ := ParseMatches("_COMM=a")
	b, _ := ParseMatches("_COMM=b + _COMM=a")
	if o := Or(a, b); o.String() != "_COMM=a + _COMM=b" {
		t.Errorf("Or = %q", o)
	}
	if o := Or(a, nil); o != nil {
		t.Errorf("Or with a match-all = %q, want match-all", o)
	}
}

func TestEntryFields(t *testing.T) {
	dir, c := corpusDir(t)
	got := readAll(t, Options{Path: dir, Fields: []string{"_SYSTEMD_UNIT", "_COMM", "TEST_ID"}}, len(c))
	if f := got[0].Fields; f["_SYSTEMD_UNIT"] != "sshd.service" || f["_COMM"] != "sshd" || f["TEST_ID"] != "sshd-unit" {
		t.Errorf("fields of the first entry = %v", f)
	}
	if f := got[6].Fields; len(f) != 1 || f["TEST_ID"] != "kernel" {
		t.Errorf("fields of the kernel entry = %v, want only TEST_ID", f)
	}
	if _, err := Open(Options{Path: dir, Fields: []string{"bad field"}}); err == nil {
		t.Error("invalid field name accepted")
	}
}
