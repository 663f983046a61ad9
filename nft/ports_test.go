package nft

import (
	"reflect"
	"strings"
	"testing"
)

const testServices = `
# comment line
ssh		22/tcp				# SSH Remote Login Protocol
http		80/tcp		www		# WorldWideWeb HTTP
https		443/tcp
https		443/udp
submission	587/tcp
kerberos-adm	749/tcp
broken		notaport/tcp
`

func TestParsePorts(t *testing.T) {
	svc, err := ParseServices(strings.NewReader(testServices))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec string
		want []PortRange
	}{
		{"ssh", []PortRange{{22, 22}}},
		{"http,https", []PortRange{{80, 80}, {443, 443}}},
		{"www", []PortRange{{80, 80}}},
		{" 22 ", []PortRange{{22, 22}}},
		{"1000:2000", []PortRange{{1000, 2000}}},
		{"1000-2000", []PortRange{{1000, 2000}}},
		{"0:65535", []PortRange{{0, 65535}}},
		{"kerberos-adm", []PortRange{{749, 749}}},
		{"ssh:http", []PortRange{{22, 80}}},
		{"https,ssh,http,submission", []PortRange{{22, 22}, {80, 80}, {443, 443}, {587, 587}}},
		{"22,23,21", []PortRange{{21, 23}}},
		{"10:20,15:30,31", []PortRange{{10, 31}}},
		{"", nil},
		{"ssh,,http,", []PortRange{{22, 22}, {80, 80}}},
	} {
		got, err := svc.ParsePorts(tc.spec)
		if err != nil {
			t.Errorf("ParsePorts(%q): %v", tc.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePorts(%q) = %v, want %v", tc.spec, got, tc.want)
		}
	}
}

func TestParsePortsErrors(t *testing.T) {
	svc, err := ParseServices(strings.NewReader(testServices))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ spec, bad string }{
		{"ssh,nosuchservice", `"nosuchservice"`},
		{"65536", `"65536"`},
		{"2000:1000", `"2000:1000"`},
		{"22:", `"22:"`},
		{"broken", `"broken"`},
		{"http,-5", `"-5"`},
	} {
		_, err := svc.ParsePorts(tc.spec)
		if err == nil {
			t.Errorf("ParsePorts(%q) succeeded", tc.spec)
			continue
		}
		if !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("ParsePorts(%q) error %q does not name %s", tc.spec, err, tc.bad)
		}
	}
}

func TestLoadServices(t *testing.T) {
	// A missing file falls back to the built-ins.
	s, err := LoadServices(t.TempDir() + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.ParsePorts("ssh,https,submission"); err != nil || !reflect.DeepEqual(got, []PortRange{{22, 22}, {443, 443}, {587, 587}}) {
		t.Errorf("built-in services: got %v, %v", got, err)
	}
	// An unreadable path (a directory) is an error, not a fallback.
	if _, err := LoadServices(t.TempDir()); err == nil {
		t.Error("LoadServices(directory) succeeded")
	}
	// The system file, when present, agrees on well-known ports.
	got, err := ParsePorts("ssh,http")
	if err != nil {
		t.Fatal(err)
	}
	if want := []PortRange{{22, 22}, {80, 80}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePorts(ssh,http) = %v, want %v", got, want)
	}
}

func TestSetName(t *testing.T) {
	for _, tc := range []struct {
		jail string
		v6   bool
		want string
	}{
		{"sshd", false, "f2b-sshd-v4"},
		{"sshd", true, "f2b-sshd-v6"},
		{"nginx-http-auth", false, "f2b-nginx-http-auth-v4"},
		{"my.jail_1", true, "f2b-my.jail_1-v6"},
	} {
		if got := SetName(tc.jail, tc.v6); got != tc.want {
			t.Errorf("SetName(%q, %v) = %q, want %q", tc.jail, tc.v6, got, tc.want)
		}
	}
	// Sanitized names stay distinct and within the kernel's limit.
	a, b := SetName("a b", false), SetName("a/b", false)
	if a == b || strings.ContainsAny(a, " /") {
		t.Errorf("SetName sanitizing: %q, %q", a, b)
	}
	long := SetName(strings.Repeat("x", 1000), true)
	if len(long) > 255 {
		t.Errorf("SetName of a long jail is %d bytes", len(long))
	}
	if SetName(strings.Repeat("x", 1000), true) != long || long == SetName(strings.Repeat("x", 999), true) {
		t.Error("SetName of long jails is not stable and distinct")
	}
}

func TestParseRelease(t *testing.T) {
	for _, tc := range []struct {
		rel          string
		major, minor int
		destroy      bool
	}{
		{"6.18.44-fc-v657", 6, 18, true},
		{"6.1.0-28-amd64", 6, 1, false},
		{"6.3", 6, 3, true},
		{"5.10.0+", 5, 10, false},
		{"7.0rc1", 7, 0, true},
	} {
		ma, mi, err := parseRelease(tc.rel)
		if err != nil || ma != tc.major || mi != tc.minor {
			t.Errorf("parseRelease(%q) = %d, %d, %v", tc.rel, ma, mi, err)
		}
		if f := featuresFor(ma, mi); f.destroyElem != tc.destroy {
			t.Errorf("%s: destroyElem = %v", tc.rel, f.destroyElem)
		}
	}
	if _, _, err := parseRelease("garbage"); err == nil {
		t.Error("parseRelease(garbage) succeeded")
	}
}
