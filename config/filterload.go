package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LoadFilter resolves the single filter filter.d/NAME of the tree rooted at
// dir (e.g. /etc/fail2ban) with the parameters params (what `NAME[k=v]`
// gives in a jail, e.g. mode=aggressive or logtype=journal), the way
// fail2ban's FilterReader does for fail2ban-regex and for its sample tests:
// NAME.conf, NAME.d/*.conf, NAME.local and NAME.d/*.local are merged with
// their includes, [Init] defaults are overridden by params, and the
// [Definition] options are interpolated and their <tags> substituted.
//
// No jail options take part. When params has no logtype and neither does
// the filter's [Definition], logtype is left to the filter's own default
// (fail2ban's sample tests do not apply the backend's log type either); set
// params["logtype"] to choose one.
func LoadFilter(dir, name string, params map[string]string) (*Filter, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load filter %s from %s: %w", name, dir, err)
	}
	st, err := os.Stat(absDir)
	if err != nil {
		return nil, fmt.Errorf("load filter %s: %w", name, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("load filter %s: %s is not a directory", name, dir)
	}
	rel := strings.TrimPrefix(filepath.ToSlash(absDir), "/")
	if rel == "" {
		rel = "."
	}
	l := newLoader(os.DirFS("/"), rel, true, dir)
	l.confpath = strings.TrimRight(dir, "/")

	fp, found, err := l.readConf(path.Join("filter.d", name))
	if err != nil {
		return nil, fmt.Errorf("load filter %s: %w", name, err)
	}
	if !found {
		return nil, fmt.Errorf("load filter %s: no %s or %s", name,
			l.display(path.Join(l.base, "filter.d", name+".conf")),
			l.display(path.Join(l.base, "filter.d", name+".local")))
	}
	init := newOmap()
	for k, v := range params {
		init.set(k, v, "")
	}
	fr := newDefInit(l, fp, l.display(path.Join(l.base, "filter.d", name+".conf")), filterOpts, init)
	if err := fr.getOptions(nil, false); err != nil {
		return nil, fmt.Errorf("load filter %s: %w", name, err)
	}
	comb, err := fr.getCombined(nil)
	if err != nil {
		return nil, fmt.Errorf("load filter %s: %w", name, err)
	}
	j := &Jail{Name: "f2bctl-regex-jail"}
	if err := l.fillFilter(j, name, init.clone(), fr, comb, newOmap()); err != nil {
		return nil, fmt.Errorf("load filter %s: %w", name, err)
	}
	if j.Filter.LogType == "" {
		j.Filter.LogType = j.Filter.Options["logtype"]
	}
	return j.Filter, nil
}
