package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/pkg/control"
)

// server starts a control server with canned jail data: f2bctl's job is
// the wire protocol and fail2ban-client's output layout, which these tests
// check against the text fail2ban-client prints.
func server(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f2bd.sock")
	ln, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go control.Serve(ctx, ln, control.HandlerFunc(func(_ context.Context, argv []string) (any, error) {
		switch strings.Join(argv, " ") {
		case "ping":
			return "pong", nil
		case "status":
			return control.Status{Jails: []string{"sshd", "nginx-http-auth"}}, nil
		case "status sshd":
			return control.JailStatus{Name: "sshd", CurrentlyFailed: 1, TotalFailed: 7,
				Files: []string{"/var/log/auth.log"}, CurrentlyBanned: 2, TotalBanned: 3,
				Banned: []string{"192.0.2.2", "2001:db8::2"}}, nil
		case "banned":
			return []control.JailBans{{Jail: "sshd", Addrs: []string{"192.0.2.2"}}, {Jail: "x", Addrs: []string{}}}, nil
		case "banned 192.0.2.2 198.51.100.1":
			return [][]string{{"sshd"}, {}}, nil
		case "set sshd banip 192.0.2.7 2001:db8::7 127.0.0.1":
			return control.BanResult{Banned: 2, Ignored: []string{"127.0.0.1"}}, nil
		case "get sshd banip --with-time":
			return []string{"192.0.2.2 \t2026-11-22 10:00:00 + 600 = 2026-11-22 10:10:00", "192.0.2.3 \t2026-11-22 10:01:00 + 600 = 2026-11-22 10:11:00"}, nil
		case "get sshd banip":
			return []string{"192.0.2.2", "192.0.2.3"}, nil
		case "unban --all":
			return 5, nil
		}
		return nil, &control.ServerError{Msg: "Sorry but the jail 'nope' does not exist"}
	}))
	t.Cleanup(cancel)
	return path
}

func TestOutputMatchesFail2banClient(t *testing.T) {
	sock := server(t)
	for _, tc := range []struct {
		args string
		want string
	}{
		{"ping", "Server replied: pong\n"},
		{"status", "Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, nginx-http-auth\n"},
		{"status sshd", "Status for the jail: sshd\n|- Filter\n|  |- Currently failed:\t1\n|  |- Total failed:\t7\n|  `- File list:\t/var/log/auth.log\n`- Actions\n   |- Currently banned:\t2\n   |- Total banned:\t3\n   `- Banned IP list:\t192.0.2.2 2001:db8::2\n"},
		{"banned", "[{'sshd': ['192.0.2.2']}, {'x': []}]\n"},
		{"banned 192.0.2.2 198.51.100.1", "[['sshd'], []]\n"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"-s", sock}, strings.Fields(tc.args)...), strings.NewReader(""), &out, &errOut)
		if code != 0 || out.String() != tc.want {
			t.Errorf("f2bctl %s: exit %d, stdout %q (stderr %q), want %q", tc.args, code, out.String(), errOut.String(), tc.want)
		}
	}
}

func TestBanCommands(t *testing.T) {
	sock := server(t)
	for _, tc := range []struct {
		args, stdin, want, wantErr string
	}{
		{"set sshd banip -", "192.0.2.7\n\n# a comment\n2001:db8::7\n127.0.0.1\n", "2\n", "not banned: 127.0.0.1"},
		{"set sshd banip 192.0.2.7 2001:db8::7 127.0.0.1", "", "2\n", "not banned: 127.0.0.1"},
		{"get sshd banip", "", "192.0.2.2 192.0.2.3\n", ""},
		{"get sshd banip --with-time", "", "192.0.2.2 \t2026-11-22 10:00:00 + 600 = 2026-11-22 10:10:00\n192.0.2.3 \t2026-11-22 10:01:00 + 600 = 2026-11-22 10:11:00\n", ""},
		{"unban --all", "", "5\n", ""},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"-s", sock}, strings.Fields(tc.args)...), strings.NewReader(tc.stdin), &out, &errOut)
		if code != 0 || out.String() != tc.want || !strings.Contains(errOut.String(), tc.wantErr) {
			t.Errorf("f2bctl %s: exit %d, stdout %q, stderr %q; want %q and %q on stderr", tc.args, code, out.String(), errOut.String(), tc.want, tc.wantErr)
		}
	}
}

func TestErrorsExit255(t *testing.T) {
	sock := server(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"-s", sock, "status", "nope"}, nil, &out, &errOut); code != 255 {
		t.Errorf("exit %d, want 255", code)
	}
	if !strings.Contains(errOut.String(), "jail 'nope' does not exist") {
		t.Errorf("stderr %q does not carry the server's message", errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"-s", filepath.Join(t.TempDir(), "none.sock"), "ping"}, nil, &out, &errOut); code != 255 || !strings.Contains(errOut.String(), "Is f2bd running?") {
		t.Errorf("no server: exit %d, stderr %q", code, errOut.String())
	}
}
