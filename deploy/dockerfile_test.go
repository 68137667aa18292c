package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"runtime"
	"strings"
)

// The small Dockerfile reader the tests check ../Dockerfile with. It covers
// what that file uses: continuation lines, comments, global and stage ARGs
// (with BuildKit's automatic platform ARGs), FROM … AS, ENV KEY=VALUE, RUN
// with --mount flags, COPY with --from and --chown, USER, WORKDIR, VOLUME,
// EXPOSE, and ENTRYPOINT/CMD in exec (JSON) form. Variables are expanded
// with shell rules (see shellWords); an undefined one is an error rather
// than Docker's silent empty string.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // 1-based line of its first physical line
	cmd  string // upper case: FROM, RUN, …
	args string // the rest, unexpanded
}

// stage is one FROM … section of a Dockerfile.
type stage struct {
	name     string // the AS name ("" when none)
	image    string // the base, variables expanded
	platform string // --platform, expanded
	args     map[string]string
	env      map[string]string
	instrs   []instruction // after the FROM
}

// dockerfile is a parsed Dockerfile: its stages in order.
type dockerfile struct {
	stages []*stage
}

// platformArgs are BuildKit's automatic ARGs, here the machine running the
// test (the build platform is the target platform).
func platformArgs() map[string]string {
	p := runtime.GOOS + "/" + runtime.GOARCH
	return map[string]string{
		"BUILDPLATFORM": p, "BUILDOS": runtime.GOOS, "BUILDARCH": runtime.GOARCH,
		"TARGETPLATFORM": p, "TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH,
	}
}

// readInstructions splits a Dockerfile into instructions.
func readInstructions(path string) ([]instruction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments may sit between continuation lines too
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation at end of file", start)
	}
	return out, sc.Err()
}

// parseDockerfile reads path; buildArgs override ARG defaults as
// `docker build --build-arg` does.
func parseDockerfile(path string, buildArgs map[string]string) (*dockerfile, error) {
	instrs, err := readInstructions(path)
	if err != nil {
		return nil, err
	}
	global := platformArgs()
	df := &dockerfile{}
	var cur *stage
	for _, in := range instrs {
		scope := global
		if cur != nil {
			scope = cur.vars()
		}
		switch in.cmd {
		case "ARG":
			target := global
			if cur != nil {
				target = cur.args
			}
			if err := declareArgs(in, scope, target, buildArgs); err != nil {
				return nil, err
			}
		case "FROM":
			st, err := parseFrom(in, global, df)
			if err != nil {
				return nil, err
			}
			df.stages = append(df.stages, st)
			cur = st
		case "ENV":
			if cur == nil {
				return nil, fmt.Errorf("line %d: ENV before FROM", in.line)
			}
			words, err := shellWords(in.args, scope)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", in.line, err)
			}
			for _, w := range words {
				k, v, ok := strings.Cut(w, "=")
				if !ok {
					return nil, fmt.Errorf("line %d: ENV %q: want KEY=VALUE", in.line, w)
				}
				cur.env[k] = v
			}
			cur.instrs = append(cur.instrs, in)
		default:
			if cur == nil {
				return nil, fmt.Errorf("line %d: %s before FROM", in.line, in.cmd)
			}
			cur.instrs = append(cur.instrs, in)
		}
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

// declareArgs handles `ARG NAME[=default] …`: a build arg wins over the
// default; an automatic platform ARG needs no default.
func declareArgs(in instruction, scope, target, buildArgs map[string]string) error {
	words, err := shellWords(in.args, scope)
	if err != nil {
		return fmt.Errorf("line %d: %w", in.line, err)
	}
	auto := platformArgs()
	for _, w := range words {
		name, def, hasDefault := strings.Cut(w, "=")
		switch v, ok := buildArgs[name]; {
		case ok:
			target[name] = v
		case hasDefault:
			target[name] = def
		case auto[name] != "":
			target[name] = auto[name]
		default:
			return fmt.Errorf("line %d: ARG %s has no default and no build arg", in.line, name)
		}
	}
	return nil
}

// parseFrom parses `FROM [--platform=P] image [AS name]`; image may name an
// earlier stage.
func parseFrom(in instruction, global map[string]string, df *dockerfile) (*stage, error) {
	words, err := shellWords(in.args, global)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", in.line, err)
	}
	st := &stage{args: map[string]string{}, env: map[string]string{}}
	if p, ok := strings.CutPrefix(words[0], "--platform="); ok {
		st.platform, words = p, words[1:]
	}
	switch {
	case len(words) == 1:
	case len(words) == 3 && strings.EqualFold(words[1], "AS"):
		st.name = words[2]
	default:
		return nil, fmt.Errorf("line %d: FROM %s: want image [AS name]", in.line, in.args)
	}
	st.image = words[0]
	if base := df.stage(st.image); base != nil {
		st.env = maps.Clone(base.env) // a stage built on another inherits its ENV
	}
	return st, nil
}

// vars is what $NAME expands to in a stage: its ARGs and ENV.
func (s *stage) vars() map[string]string {
	v := maps.Clone(s.args)
	maps.Copy(v, s.env)
	return v
}

// stage returns the stage named name, or nil.
func (df *dockerfile) stage(name string) *stage {
	for _, s := range df.stages {
		if s.name != "" && s.name == name {
			return s
		}
	}
	return nil
}

// final is the last stage: the image.
func (df *dockerfile) final() *stage { return df.stages[len(df.stages)-1] }

// all returns the stage's instructions named cmd.
func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm decodes an instruction in exec form (a JSON array).
func execForm(in instruction) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("line %d: %s %s: want exec form, a JSON array (distroless has no shell)", in.line, in.cmd, in.args)
	}
	return argv, nil
}

// copyInstr is a parsed COPY.
type copyInstr struct {
	from, chown string
	srcs        []string
	dst         string
}

// parseCopy parses `COPY [--from=S] [--chown=U:G] src… dst`.
func parseCopy(in instruction, vars map[string]string) (copyInstr, error) {
	words, err := shellWords(in.args, vars)
	if err != nil {
		return copyInstr{}, fmt.Errorf("line %d: %w", in.line, err)
	}
	var c copyInstr
	for len(words) > 0 && strings.HasPrefix(words[0], "--") {
		flag, val, _ := strings.Cut(strings.TrimPrefix(words[0], "--"), "=")
		switch flag {
		case "from":
			c.from = val
		case "chown":
			c.chown = val
		default:
			return c, fmt.Errorf("line %d: COPY --%s is not understood by this test", in.line, flag)
		}
		words = words[1:]
	}
	if len(words) < 2 {
		return c, fmt.Errorf("line %d: COPY wants a source and a destination", in.line)
	}
	c.srcs, c.dst = words[:len(words)-1], words[len(words)-1]
	return c, nil
}

// runCommand returns a RUN's command line without its --mount (etc.) flags.
func runCommand(in instruction) string {
	rest := in.args
	for strings.HasPrefix(rest, "--") {
		_, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimSpace(rest)
	}
	return rest
}

// shellMeta is what makes a command line more than one plain command.
var shellMeta = regexp.MustCompile(`[;&|<>()` + "`" + `]`)

// shellWords splits s into words as a POSIX shell would for one simple
// command: single quotes are literal, double quotes group and expand, a
// backslash escapes, $NAME and ${NAME} expand from vars. An undefined
// variable, or any operator (; && | > $( …), is an error: callers run the
// words as they are.
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := rune(0)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'' && r == '\'':
			quote = 0
		case quote == '\'':
			cur.WriteRune(r)
		case r == '\\' && i+1 < len(rs) && (quote == 0 || strings.ContainsRune("$`\"\\", rs[i+1])):
			i++
			cur.WriteRune(rs[i])
		case r == '$':
			name, n, err := varName(rs[i+1:])
			if err != nil {
				return nil, err
			}
			v, ok := vars[name]
			if !ok {
				return nil, fmt.Errorf("$%s is not defined", name)
			}
			cur.WriteString(v)
			i += n
			inWord = true
		case quote == '"' && r == '"':
			quote = 0
		case quote == '"' && r == '`':
			return nil, fmt.Errorf("%q: command substitution: want one plain command", s)
		case quote == '"':
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case shellMeta.MatchString(string(r)):
			return nil, fmt.Errorf("%q: shell operator %q: want one plain command", s, r)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q: unterminated quote", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

// varName reads the name after a '$' ({NAME} or NAME) and how many runes it
// took.
func varName(rs []rune) (string, int, error) {
	if len(rs) > 0 && rs[0] == '{' {
		for j := 1; j < len(rs); j++ {
			if rs[j] == '}' {
				name := string(rs[1:j])
				if !isName(name) {
					return "", 0, fmt.Errorf("${%s}: only ${NAME} is understood by this test", name)
				}
				return name, j + 1, nil
			}
		}
		return "", 0, fmt.Errorf("unterminated ${")
	}
	j := 0
	for j < len(rs) && (rs[j] == '_' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= 'a' && rs[j] <= 'z' || j > 0 && rs[j] >= '0' && rs[j] <= '9') {
		j++
	}
	if j == 0 {
		return "", 0, fmt.Errorf("a lone $ (command substitution or a special parameter)")
	}
	return string(rs[:j]), j, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func isName(s string) bool { return nameRE.MatchString(s) }
