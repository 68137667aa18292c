package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"sort"
	"strings"
	texttemplate "text/template"
)

// The three parts of a mail template named NAME, at the root of an app's
// template FS.
const (
	subjectSuffix = ".subject.tmpl"
	textSuffix    = ".txt.tmpl"
	htmlSuffix    = ".html.tmpl"
)

// Content is a rendered mail: what a recipient reads.
type Content struct {
	Subject string
	Text    string
	HTML    string
}

// Templates are an app's mail templates, parsed once at start and safe for
// concurrent use.
type Templates struct {
	byName map[string]*template
}

type template struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// ParseTemplates parses every mail template in directory dir of fsys ("."
// for its root; apps embed theirs as mails/*.tmpl and pass "mails"). A
// mail named "welcome" has three files:
//
//	welcome.subject.tmpl  text/template, one line (trimmed; runs of spaces and
//	                      line breaks folded into one space)
//	welcome.txt.tmpl      text/template, the plain-text part
//	welcome.html.tmpl     html/template, the HTML part: data is escaped
//
// Other files are ignored. Templates run with missingkey=error, so a
// misspelled map key fails Render instead of printing "<no value>".
//
// ParseTemplates fails, naming the file, when a part is missing or does not
// parse; it is meant to run at start so a broken template stops the process
// before any mail is enqueued.
func ParseTemplates(fsys fs.FS, dir string) (*Templates, error) {
	fsys, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("mail: templates in %s: %w", dir, err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("mail: read templates: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		for _, suffix := range []string{subjectSuffix, textSuffix, htmlSuffix} {
			if name, ok := strings.CutSuffix(e.Name(), suffix); ok && name != "" {
				names[name] = true
			}
		}
	}
	t := &Templates{byName: make(map[string]*template, len(names))}
	var errs []error
	for name := range names {
		tpl, err := parseOne(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.byName[name] = tpl
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func parseOne(fsys fs.FS, name string) (*template, error) {
	read := func(suffix string) (file, text string, err error) {
		file = name + suffix
		b, err := fs.ReadFile(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			return file, "", fmt.Errorf("mail: template %q: missing %s", name, file)
		}
		if err != nil {
			return file, "", fmt.Errorf("mail: template %q: read %s: %w", name, file, err)
		}
		return file, string(b), nil
	}
	var tpl template
	file, src, err := read(subjectSuffix)
	if err != nil {
		return nil, err
	}
	if tpl.subject, err = texttemplate.New(file).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("mail: parse %s: %w", file, err)
	}
	if file, src, err = read(textSuffix); err != nil {
		return nil, err
	}
	if tpl.text, err = texttemplate.New(file).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("mail: parse %s: %w", file, err)
	}
	if file, src, err = read(htmlSuffix); err != nil {
		return nil, err
	}
	if tpl.html, err = htmltemplate.New(file).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("mail: parse %s: %w", file, err)
	}
	return &tpl, nil
}

// Names returns the names of the parsed mails, sorted.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(t.byName))
	for n := range t.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Render executes the three parts of the mail name with data. The HTML part
// escapes data (html/template); the subject and text parts do not, as they
// are not HTML. It fails when name is unknown or a part fails to execute
// (a missing map key, say), naming the file.
func (t *Templates) Render(name string, data any) (Content, error) {
	tpl, ok := t.byName[name]
	if !ok {
		return Content{}, fmt.Errorf("mail: no template %q", name)
	}
	var b bytes.Buffer
	if err := tpl.subject.Execute(&b, data); err != nil {
		return Content{}, fmt.Errorf("mail: render %s: %w", name+subjectSuffix, err)
	}
	c := Content{Subject: oneLine(b.String())}
	b.Reset()
	if err := tpl.text.Execute(&b, data); err != nil {
		return Content{}, fmt.Errorf("mail: render %s: %w", name+textSuffix, err)
	}
	c.Text = b.String()
	b.Reset()
	if err := tpl.html.Execute(&b, data); err != nil {
		return Content{}, fmt.Errorf("mail: render %s: %w", name+htmlSuffix, err)
	}
	c.HTML = b.String()
	return c, nil
}

// oneLine trims s and folds its runs of white space, line breaks included,
// into one space: a subject is one header line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
