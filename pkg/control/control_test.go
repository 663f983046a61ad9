package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, h Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "f2bd.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func echo(ctx context.Context, argv []string) (any, error) {
	switch argv[0] {
	case "fail":
		return nil, fmt.Errorf("no such jail %q", argv[1])
	case "panic":
		panic("boom")
	}
	return argv, nil
}

func TestCallRoundTrip(t *testing.T) {
	path := serve(t, HandlerFunc(echo))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	ctx := context.Background()
	var got []string
	if err := Call(ctx, path, []string{"status", "sshd"}, &got); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "status sshd" {
		t.Errorf("result %q", got)
	}
	err = Call(ctx, path, []string{"fail", "x"}, nil)
	var se *ServerError
	if !errors.As(err, &se) || se.Msg != `no such jail "x"` {
		t.Errorf("error = %v, want the server's message", err)
	}
	// A panicking command is an error reply, and the server goes on.
	if err := Call(ctx, path, []string{"panic"}, nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panic reply = %v", err)
	}
	if err := Call(ctx, path, []string{"ping"}, nil); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}

func TestMalformedRequestsGetErrors(t *testing.T) {
	path := serve(t, HandlerFunc(echo))
	for _, raw := range []string{"not json\n", "{\"argv\":[]}\n", "{\"argv\":5}\n"} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte(raw))
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		c.Close()
		if !strings.Contains(string(buf[:n]), `"ok":false`) {
			t.Errorf("request %q: reply %q, want an error reply", raw, buf[:n])
		}
	}
	if err := Call(context.Background(), path, []string{"ping"}, nil); err != nil {
		t.Errorf("server stopped answering after malformed requests: %v", err)
	}
}

func TestListenRefusesWhenAServerAnswers(t *testing.T) {
	path := serve(t, HandlerFunc(echo))
	if _, err := Listen(path); err == nil {
		t.Fatal("second Listen on a live socket succeeded")
	}
}
