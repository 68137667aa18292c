package deploy

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The build context: the files of the repository that .dockerignore lets
// into `docker build`, with Docker's rules (moby/patternmatcher): patterns
// are matched against the slash path relative to the root and against each
// of its parent directories; `*` and `?` stay within one path segment, `**`
// spans any number; a leading `!` lets back in; the last matching pattern
// decides.

// ignoreRule is one .dockerignore line.
type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

// readDockerignore parses path.
func readDockerignore(path string) ([]ignoreRule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rules []ignoreRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, strings.TrimSpace(rest)
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		re, err := patternRE(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		r.re = re
		rules = append(rules, r)
	}
	return rules, sc.Err()
}

// patternRE compiles a .dockerignore pattern.
func patternRE(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[' || c == '\\':
			return nil, fmt.Errorf("character classes and escapes are not understood by this test")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ignored reports whether rel (a slash path) stays out of the context.
func ignored(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		if matchesOrParent(r.re, rel) {
			out = !r.negate
		}
	}
	return out
}

func matchesOrParent(re *regexp.Regexp, rel string) bool {
	for p := rel; p != "."; p = filepath.ToSlash(filepath.Dir(p)) {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

// copyContext copies the build context of root into dst and returns the
// slash paths copied.
func copyContext(root, dst string) ([]string, error) {
	rules, err := readDockerignore(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignored(rules, rel) {
			return nil
		}
		files = append(files, rel)
		return copyFile(path, filepath.Join(dst, filepath.FromSlash(rel)))
	})
	return files, err
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
