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
