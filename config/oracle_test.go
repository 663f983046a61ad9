package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/f2bd/f2bd/internal/oracle"
)

// oracleJail is what fail2ban-client -d printed for one jail.
type oracleJail struct {
	backend      string
	failregex    []string
	ignoreregex  []string
	prefregex    *string
	datepattern  *string
	journalmatch [][]string
	maxlines     *string
	logpaths     [][2]string
	actions      []string
	actionOpts   map[string]map[string]string // actname -> option -> value
	set          map[string]string            // other "set JAIL opt value" commands
	configError  string
}

// runOracle runs fail2ban-client -d on dir and returns its jails, in order.
func runOracle(t testing.TB, dir string) (map[string]*oracleJail, []string) {
	t.Helper()
	oracle.Require(t, oracle.Python, oracle.Client)
	cmd := exec.Command(oracle.Python, oracle.Client, "-c", dir, "-d")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban-client -d: %v\n%s", err, stderr.String())
	}
	// Convert the Python list reprs to JSON with Python itself.
	conv := exec.Command(oracle.Python, "-c", `import ast, json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith('['):
        print(json.dumps(ast.literal_eval(line)))`)
	conv.Stdin = bytes.NewReader(out)
	js, err := conv.Output()
	if err != nil {
		t.Fatalf("convert -d output: %v", err)
	}
	jails := map[string]*oracleJail{}
	var order []string
	get := func(name string) *oracleJail {
		j := jails[name]
		if j == nil {
			j = &oracleJail{set: map[string]string{}, actionOpts: map[string]map[string]string{}}
			jails[name] = j
			order = append(order, name)
		}
		return j
	}
	cfgErr := regexp.MustCompile(`^Jail '([^']+)' skipped`)
	sc := bufio.NewScanner(bytes.NewReader(js))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var cmd []any
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			t.Fatalf("decode %s: %v", sc.Text(), err)
		}
		s := func(i int) string { return fmt.Sprint(cmd[i]) }
		switch {
		case s(0) == "config-error":
			m := cfgErr.FindStringSubmatch(s(1))
			if m == nil {
				t.Fatalf("unexpected config-error %q", s(1))
			}
			get(m[1]).configError = s(1)
		case s(0) == "add":
			get(s(1)).backend = s(2)
		case s(0) == "multi-set" && len(cmd) == 4:
			var list []string
			for _, v := range cmd[3].([]any) {
				list = append(list, fmt.Sprint(v))
			}
			j := get(s(1))
			switch s(2) {
			case "addfailregex":
				j.failregex = append(j.failregex, list...)
			case "addignoreregex":
				j.ignoreregex = append(j.ignoreregex, list...)
			}
		case s(0) == "multi-set" && len(cmd) == 5 && s(2) == "action":
			opts := map[string]string{}
			for _, kv := range cmd[4].([]any) {
				pair := kv.([]any)
				opts[fmt.Sprint(pair[0])] = fmt.Sprint(pair[1])
			}
			get(s(1)).actionOpts[s(3)] = opts
		case s(0) == "set" && len(cmd) == 6 && s(2) == "action":
			get(s(1)).actionOpts[s(3)] = map[string]string{s(4): s(5)}
		case s(0) == "set" && len(cmd) >= 4:
			j := get(s(1))
			v := s(3)
			switch s(2) {
			case "addfailregex":
				j.failregex = append(j.failregex, v)
			case "addignoreregex":
				j.ignoreregex = append(j.ignoreregex, v)
			case "prefregex":
				j.prefregex = &v
			case "datepattern":
				j.datepattern = &v
			case "maxlines":
				j.maxlines = &v
			case "addjournalmatch":
				var m []string
				for i := 3; i < len(cmd); i++ {
					m = append(m, s(i))
				}
				j.journalmatch = append(j.journalmatch, m)
			case "addlogpath":
				j.logpaths = append(j.logpaths, [2]string{v, s(4)})
			case "addaction":
				j.actions = append(j.actions, v)
			case "addignoreip":
				var ips []string
				for i := 3; i < len(cmd); i++ {
					ips = append(ips, s(i))
				}
				j.set["ignoreip"] = strings.Join(ips, " ")
			default:
				j.set[s(2)] = v
			}
		}
	}
	return jails, order
}

// compareJail reports every difference between our jail and fail2ban's.
func compareJail(t *testing.T, j *Jail, o *oracleJail) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("jail %s: %s:\n got: %q\nwant: %q", j.Name, what, got, want)
		}
	}
	backend := j.Backend
	if len(j.BackendOpts) > 0 {
		backend = j.Options["backend"]
	}
	eq("backend", backend, o.backend)
	if j.Filter == nil {
		t.Fatalf("jail %s: no filter", j.Name)
	}
	f := j.Filter
	eq("failregex", f.FailRegex, o.failregex)
	eq("ignoreregex", f.IgnoreRegex, o.ignoreregex)
	optStr := func(v string, set bool) *string {
		if !set {
			return nil
		}
		return &v
	}
	_, hasPref := f.Options["prefregex"]
	eq("prefregex", optStr(f.PrefRegex, hasPref), o.prefregex)
	_, hasDP := f.Options["datepattern"]
	eq("datepattern", optStr(f.DatePattern, hasDP), o.datepattern)
	_, hasML := f.Options["maxlines"]
	eq("maxlines", optStr(fmt.Sprint(f.MaxLines), hasML), o.maxlines)
	var jm [][]string
	for _, line := range strings.Split(f.JournalMatch, "\n") {
		if line != "" {
			jm = append(jm, strings.Fields(line))
		}
	}
	eq("journalmatch", jm, o.journalmatch)
	eq("maxretry", fmt.Sprint(j.MaxRetry), o.set["maxretry"])
	eq("maxmatches", fmt.Sprint(j.MaxMatches), o.set["maxmatches"])
	eq("findtime", j.Options["findtime"], o.set["findtime"])
	eq("bantime", j.Options["bantime"], o.set["bantime"])
	if ft, err := ParseTime(o.set["findtime"]); err != nil || ft != j.FindTime {
		t.Errorf("jail %s: FindTime %v, fail2ban %q (%v)", j.Name, j.FindTime, o.set["findtime"], err)
	}
	if bt, err := ParseTime(o.set["bantime"]); err != nil || bt != j.BanTime {
		t.Errorf("jail %s: BanTime %v, fail2ban %q (%v)", j.Name, j.BanTime, o.set["bantime"], err)
	}
	eq("usedns", j.UseDNS, o.set["usedns"])
	eq("logencoding", j.LogEncoding, o.set["logencoding"])
	if ip, ok := o.set["ignoreip"]; ok {
		eq("ignoreip", strings.Join(j.IgnoreIP, " "), ip)
	}
	// fail2ban prints the globbed, existing files; glob our patterns.
	if !strings.HasPrefix(j.Backend, "systemd") {
		var lp [][2]string
		for _, p := range j.LogPaths {
			matches, _ := filepath.Glob(p.Pattern)
			for _, m := range matches {
				mode := "head"
				if p.Tail {
					mode = "tail"
				}
				lp = append(lp, [2]string{m, mode})
			}
		}
		// Python's glob returns directory order; compare as sets.
		key := func(l [][2]string) []string {
			var out []string
			for _, x := range l {
				out = append(out, x[0]+" "+x[1])
			}
			sort.Strings(out)
			return out
		}
		eq("logpath", key(lp), key(o.logpaths))
	}
	var acts []string
	for _, a := range j.Actions {
		acts = append(acts, a.ActName)
	}
	eq("actions", acts, o.actions)
	// The resolved action options fail2ban sends to the server.
	for _, a := range j.Actions {
		cmds := map[string]bool{}
		for _, s := range actionOpts {
			cmds[s.name] = true
		}
		for k, want := range o.actionOpts[a.ActName] {
			src := a.Options
			if !cmds[k] {
				src = a.Init
			}
			if got, ok := src[k]; !ok || got != want {
				t.Errorf("jail %s: action %s option %s:\n got: %q\nwant: %q", j.Name, a.ActName, k, got, want)
			}
		}
	}
}

func TestOracleSSHD(t *testing.T) {
	oracle.Require(t, oracle.StockDir, oracle.Python, oracle.Client)
	dir := t.TempDir()
	oracle.CopyTree(t, oracle.StockDir, dir)
	logs := t.TempDir()
	for _, n := range []string{"auth.log", "secure-1.log", "secure-2.log"} {
		if err := os.WriteFile(filepath.Join(logs, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	local := fmt.Sprintf(`[sshd]
enabled = true
maxretry = 3
banaction = nftables-multiport
backend = polling
logpath = %s/auth.log
          %s/secure-*.log tail
`, logs, logs)
	if err := os.WriteFile(filepath.Join(dir, "jail.local"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	oracle, order := runOracle(t, dir)
	if !reflect.DeepEqual(order, []string{"sshd"}) {
		t.Fatalf("fail2ban jails: %v", order)
	}
	cfg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Broken) > 0 {
		t.Fatalf("broken: %v", cfg.Broken)
	}
	if len(cfg.Jails) != 1 || cfg.Jails[0].Name != "sshd" {
		t.Fatalf("jails: %+v", cfg.Jails)
	}
	j := cfg.Jails[0]
	compareJail(t, j, oracle["sshd"])
	if len(oracle["sshd"].logpaths) != 3 {
		t.Errorf("fail2ban logpaths %v, want 3 files", oracle["sshd"].logpaths)
	}
	if j.MaxRetry != 3 || j.BanAction != "nftables-multiport" {
		t.Errorf("maxretry %d banaction %q", j.MaxRetry, j.BanAction)
	}
	if len(j.Actions) != 1 || j.Actions[0].Name != "nftables-multiport" ||
		j.Actions[0].Params["port"] != "ssh" || j.Actions[0].Params["protocol"] != "tcp" {
		t.Errorf("actions: %+v", j.Actions)
	}
}

func TestOracleAllJails(t *testing.T) {
	oracle.Require(t, oracle.StockDir, oracle.Python, oracle.Client)
	dir := t.TempDir()
	oracle.CopyTree(t, oracle.StockDir, dir)
	names := oracle.StockJails(t)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "[%s]\nenabled = true\n\n", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "jail.local"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	oracle, order := runOracle(t, dir)
	cfg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range cfg.Jails {
		got = append(got, j.Name)
	}
	var okOrder, errNames []string
	for _, n := range order {
		if oracle[n].configError != "" {
			errNames = append(errNames, n)
		} else {
			okOrder = append(okOrder, n)
		}
	}
	if !reflect.DeepEqual(got, okOrder) {
		t.Errorf("jail order:\n got %v\nwant %v", got, okOrder)
	}
	var broken []string
	for _, e := range cfg.Broken {
		broken = append(broken, e.(*JailError).Jail)
	}
	sort.Strings(broken)
	sort.Strings(errNames)
	if !reflect.DeepEqual(broken, errNames) {
		t.Errorf("broken %v, fail2ban config errors %v", broken, errNames)
	}
	matched := 0
	for _, j := range cfg.Jails {
		o := oracle[j.Name]
		if o == nil {
			continue
		}
		ok := t.Run(j.Name, func(t *testing.T) { compareJail(t, j, o) })
		if ok {
			matched++
		}
	}
	t.Logf("%d/%d jails of jail.conf identical to fail2ban-client -d", matched, len(names))
	if matched != len(names) {
		t.Errorf("only %d of %d jails match", matched, len(names))
	}
	if len(names) < 50 {
		t.Errorf("only %d jails in the stock jail.conf; wrong tree?", len(names))
	}
}
