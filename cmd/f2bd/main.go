// Command f2bd is the ban daemon: it reads a fail2ban configuration tree,
// follows the jails' logs and bans offending addresses in nftables sets
// whose elements the kernel expires.
//
// It runs in the foreground, as systemd runs it (fail2ban-server -f). It
// needs CAP_NET_ADMIN (or root).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/f2bd/f2bd/config"
	"github.com/f2bd/f2bd/pkg/daemon"
)

const defaultConfDir = "/etc/fail2ban"

func main() {
	confDir := flag.String("c", defaultConfDir, "fail2ban configuration `dir`ectory; the built-in default config is used when "+defaultConfDir+" does not exist")
	socket := flag.String("s", "/run/f2bd/f2bd.sock", "control socket `path`")
	stateDir := flag.String("state-dir", "/var/lib/f2bd", "state `dir`ectory")
	flag.Bool("f", true, "run in the foreground (always; accepted for fail2ban-server compatibility)")
	debug := flag.Bool("debug", false, "log at debug level")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to `file` (for benchmarks)")
	traceFile := flag.String("trace", "", "write an execution trace of the run to `file` (for benchmarks: go tool trace)")
	memProfile := flag.String("memprofile", "", "write a profile of the run's allocations to `file` at exit (for benchmarks)")
	flag.Parse()

	if *memProfile != "" {
		// one sample per 4 KiB allocated, not 512 KiB: a benchmark run's
		// allocations per line are then told apart
		runtime.MemProfileRate = 4096
	}
	log := newLogger(*debug)
	defer log.Sync()
	stopProfile := func() {}
	if *cpuProfile != "" {
		var err error
		if stopProfile, err = startCPUProfile(*cpuProfile); err != nil {
			log.Fatal("cpu profile", zap.Error(err))
		}
	}
	stopTrace := func() {}
	if *traceFile != "" {
		var err error
		if stopTrace, err = startTrace(*traceFile); err != nil {
			log.Fatal("trace", zap.Error(err))
		}
	}

	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "c" })
	cfg, err := loadConfig(*confDir, explicit, log)
	if err != nil {
		log.Fatal("configuration", zap.Error(err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = daemon.Run(ctx, daemon.Options{
		Config:   cfg,
		Socket:   *socket,
		StateDir: *stateDir,
		Log:      log,
	})
	stopProfile()
	stopTrace()
	if *memProfile != "" {
		if err := writeAllocs(*memProfile); err != nil {
			log.Error("memory profile", zap.Error(err))
		}
	}
	if err != nil {
		log.Fatal("f2bd", zap.Error(err))
	}
}

// startCPUProfile writes a CPU profile to path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// startTrace writes an execution trace to path until the returned stop.
func startTrace(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		trace.Stop()
		f.Close()
	}, nil
}

// writeAllocs writes the profile of the allocations made so far to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadConfig reads dir, or the built-in default when dir is the default
// path and absent.
func loadConfig(dir string, explicit bool, log *zap.Logger) (*config.Config, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && !explicit {
		cfg, err := config.Load(config.Default(), "embedded")
		if err != nil {
			return nil, fmt.Errorf("built-in configuration: %w", err)
		}
		useJournalWithoutAuthLog(cfg, log)
		log.Info("no "+dir+" on this host: using f2bd's built-in configuration",
			zap.Int("jails", len(cfg.Jails)))
		return cfg, nil
	}
	cfg, err := config.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	log.Info("using configuration", zap.String("dir", dir), zap.Int("jails", len(cfg.Jails)),
		zap.Int("broken", len(cfg.Broken)))
	return cfg, nil
}

// useJournalWithoutAuthLog switches the built-in jails to the systemd
// journal when the host has no syslog file for them (a journald-only
// host): the built-in config reads /var/log/auth.log if present, else the
// journal.
func useJournalWithoutAuthLog(cfg *config.Config, log *zap.Logger) {
	for _, j := range cfg.Jails {
		found := false
		for _, lp := range j.LogPaths {
			if _, err := os.Stat(lp.Pattern); err == nil {
				found = true
			}
		}
		if !found {
			j.Backend = "systemd"
			log.Info("no log file for the jail: reading the systemd journal",
				zap.String("jail", j.Name), zap.String("journalmatch", j.Filter.JournalMatch))
		}
	}
}

func newLogger(debug bool) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	enc.EncodeLevel = zapcore.CapitalLevelEncoder
	enc.EncodeDuration = zapcore.StringDurationEncoder
	level := zapcore.InfoLevel
	if debug {
		level = zapcore.DebugLevel
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), level)
	return zap.New(core)
}
