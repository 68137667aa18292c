package deploy

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// unit is a systemd unit file: section → key → values in order (a key such
// as ExecStart or SystemCallFilter may repeat).
type unit map[string]map[string][]string

// readUnit parses a unit file: [Section] headers, Key=Value lines, # and ;
// comments, backslash continuations (systemd.syntax(7)).
func readUnit(path string) (unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := unit{}
	section := ""
	var pending string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			pending += body + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: bad section header %q", path, n, line)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("%s:%d: want Key=Value inside a [Section], got %q", path, n, line)
		}
		key = strings.TrimSpace(key)
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	if pending != "" {
		return nil, fmt.Errorf("%s: continuation at end of file", path)
	}
	return u, sc.Err()
}

// get returns the last value of key in section ("" when unset), which is
// the one in force for single-valued settings.
func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// environment returns the variables of the [Service] Environment= lines.
func (u unit) environment() (map[string]string, error) {
	env := map[string]string{}
	for _, line := range u["Service"]["Environment"] {
		for _, assign := range strings.Fields(line) {
			k, v, ok := strings.Cut(strings.Trim(assign, `"`), "=")
			if !ok {
				return nil, fmt.Errorf("Environment=%s: want NAME=value", line)
			}
			env[k] = v
		}
	}
	return env, nil
}

// execArgs splits an Exec*= value into its argv, dropping the special
// prefixes (-, @, :, +, !) systemd.service(5) allows before the path.
// Quoting is not used by these units and is refused.
func execArgs(value string) ([]string, error) {
	if strings.ContainsAny(value, `"'$%`) && !strings.Contains(value, "$MAINPID") {
		return nil, fmt.Errorf("%q: quoting, variables and specifiers are not understood by this test", value)
	}
	argv := strings.Fields(value)
	if len(argv) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	argv[0] = strings.TrimLeft(argv[0], "-@:+!")
	return argv, nil
}

// timeSpan parses a systemd time span as these units write it: a Go
// duration ("70s", "1m10s") or bare seconds ("70").
func timeSpan(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}
