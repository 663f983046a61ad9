package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/f2bd/f2bd/config"
)

// dumpConfig is `f2bctl -c DIR -d`: it reads the configuration tree dir
// and prints the commands fail2ban-client -d prints for it, one compact
// JSON array per line (fail2ban prints Python reprs of the same values).
func dumpConfig(dir string, w io.Writer) error {
	cfg, err := config.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("dump configuration: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, cmd := range cfg.Commands() {
		if err := enc.Encode(cmd); err != nil {
			return fmt.Errorf("dump configuration: encode %v: %w", cmd[:min(len(cmd), 2)], err)
		}
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("dump configuration: %w", err)
	}
	return nil
}

// testConfig is `f2bctl -c DIR -t`: it reads the configuration tree dir
// and reports every error found in it (each naming the file, section and
// option at fault), one "ERROR: ..." line each. It returns an error when
// the tree cannot be read or any enabled jail is broken; otherwise it
// prints fail2ban-client's "OK: configuration test is successful".
func testConfig(dir string, w io.Writer) error {
	cfg, err := config.LoadDir(dir)
	if err != nil {
		fmt.Fprintf(w, "ERROR: %v\n", err)
		return fmt.Errorf("test configuration of %s failed: %w", dir, err)
	}
	problems := cfg.Check()
	for _, p := range problems {
		if _, err := fmt.Fprintf(w, "ERROR: %v\n", p); err != nil {
			return fmt.Errorf("test configuration: %w", err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("test configuration of %s failed: %d error(s): %w",
			dir, len(problems), errors.Join(problems...))
	}
	if _, err := fmt.Fprintln(w, "OK: configuration test is successful"); err != nil {
		return fmt.Errorf("test configuration: %w", err)
	}
	return nil
}
