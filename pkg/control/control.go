// Package control is f2bd's control protocol: f2bctl sends a command as an
// argument vector (fail2ban-client's words: "status", "sshd") over a unix
// socket and gets back one result or one error.
//
// The wire format is one JSON object per line each way:
//
//	-> {"argv":["status","sshd"]}
//	<- {"ok":true,"result":{...}}
//	<- {"ok":false,"error":"unknown jail \"x\""}
//
// A connection may carry several requests in turn. A malformed request gets
// an error reply; it never stops the server.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// MaxRequest is the largest request line the server reads (a long ban list
// from "banip -" fits well below it).
const MaxRequest = 64 << 20

// Handler runs one command.
type Handler interface {
	// Handle runs argv and returns a JSON-encodable result, or an error
	// whose text is sent to the client.
	Handle(ctx context.Context, argv []string) (any, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, argv []string) (any, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, argv []string) (any, error) { return f(ctx, argv) }

type request struct {
	Argv []string `json:"argv"`
}

type response struct {
	OK     bool            `json:"ok"`
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Listen creates the unix socket at path with mode 0600, creating its
// directory (0755) and replacing a stale socket left by a previous run.
// It fails when another server answers on path.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another server is listening", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket mode: %w", err)
	}
	return ln, nil
}

// Serve answers connections on ln until ctx is done, then closes ln and
// waits for the connections being served.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control socket accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, conn, h)
		}()
	}
}

func serveConn(ctx context.Context, conn net.Conn, h Handler) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	sc := bufio.NewScanner(conn)
	sc.Buffer(nil, MaxRequest) // requests are small: the buffer grows for a large one
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		var resp response
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = fmt.Sprintf("malformed request: %v", err)
		} else if len(req.Argv) == 0 {
			resp.Error = "empty command"
		} else {
			resp = run(ctx, h, req.Argv)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
	if err := sc.Err(); err != nil {
		enc.Encode(response{Error: fmt.Sprintf("malformed request: %v", err)})
	}
}

// run calls the handler, turning a panic into an error reply so that one
// bad command cannot take the daemon down.
func run(ctx context.Context, h Handler, argv []string) (resp response) {
	defer func() {
		if p := recover(); p != nil {
			resp = response{Error: fmt.Sprintf("internal error running %q: %v", argv[0], p)}
		}
	}()
	res, err := h.Handle(ctx, argv)
	if err != nil {
		return response{Error: err.Error()}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return response{Error: fmt.Sprintf("encoding result: %v", err)}
	}
	return response{OK: true, Result: b}
}

// ServerError is an error the server sent back for a command.
type ServerError struct{ Msg string }

func (e *ServerError) Error() string { return e.Msg }

// Call sends argv to the server at path and decodes the result into out
// (which may be nil). An error the server reports is a *ServerError.
func Call(ctx context.Context, path string, argv []string, out any) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("connecting to f2bd at %s: %w", path, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if err := json.NewEncoder(conn).Encode(request{Argv: argv}); err != nil {
		return fmt.Errorf("sending command: %w", err)
	}
	var resp response
	dec := json.NewDecoder(bufio.NewReader(conn))
	if err := dec.Decode(&resp); err != nil {
		return fmt.Errorf("reading reply: %w", err)
	}
	if !resp.OK {
		return &ServerError{Msg: resp.Error}
	}
	if out != nil && len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, out); err != nil {
			return fmt.Errorf("decoding reply: %w", err)
		}
	}
	return nil
}
