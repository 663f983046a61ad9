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
		code := run(append([]string{"-s", sock}, strings.Fields(tc.args)...), &out, &errOut)
		if code != 0 || out.String() != tc.want {
			t.Errorf("f2bctl %s: exit %d, stdout %q (stderr %q), want %q", tc.args, code, out.String(), errOut.String(), tc.want)
		}
	}
}

func TestErrorsExit255(t *testing.T) {
	sock := server(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"-s", sock, "status", "nope"}, &out, &errOut); code != 255 {
		t.Errorf("exit %d, want 255", code)
	}
	if !strings.Contains(errOut.String(), "jail 'nope' does not exist") {
		t.Errorf("stderr %q does not carry the server's message", errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"-s", filepath.Join(t.TempDir(), "none.sock"), "ping"}, &out, &errOut); code != 255 || !strings.Contains(errOut.String(), "Is f2bd running?") {
		t.Errorf("no server: exit %d, stderr %q", code, errOut.String())
	}
}
