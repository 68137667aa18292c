package mail_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tessera-dev/tessera/internal/platform/mail"
)

func welcomeFS() fstest.MapFS {
	return fstest.MapFS{
		"welcome.subject.tmpl": {Data: []byte("Welcome,\n  {{.Name}}!\n")},
		"welcome.txt.tmpl":     {Data: []byte("Hello {{.Name}},\nyour code is {{.Code}}.\n")},
		"welcome.html.tmpl":    {Data: []byte("<p>Hello {{.Name}}, your code is <b>{{.Code}}</b>.</p>")},
		"README.md":            {Data: []byte("not a template")},
	}
}

func TestRenderEscapesHTMLOnly(t *testing.T) {
	t.Parallel()
	tpl, err := mail.ParseTemplates(welcomeFS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Names(); len(got) != 1 || got[0] != "welcome" {
		t.Fatalf("Names = %v, want [welcome]", got)
	}
	c, err := tpl.Render("welcome", map[string]string{"Name": `<script>"Ann" & co</script>`, "Code": "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `Welcome, <script>"Ann" & co</script>!`; c.Subject != want {
		t.Errorf("Subject = %q, want %q", c.Subject, want)
	}
	if want := "Hello <script>\"Ann\" & co</script>,\nyour code is 123456.\n"; c.Text != want {
		t.Errorf("Text = %q, want %q", c.Text, want)
	}
	if want := `<p>Hello &lt;script&gt;&#34;Ann&#34; &amp; co&lt;/script&gt;, your code is <b>123456</b>.</p>`; c.HTML != want {
		t.Errorf("HTML = %q, want %q", c.HTML, want)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tpl, err := mail.ParseTemplates(welcomeFS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Render("nope", nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown template: err = %v", err)
	}
	_, err = tpl.Render("welcome", map[string]string{"Name": "Ann"}) // no Code
	if err == nil || !strings.Contains(err.Error(), "welcome.txt.tmpl") {
		t.Errorf("missing key: err = %v, want an error naming welcome.txt.tmpl", err)
	}
}

func TestParseTemplatesFailsNamingTheFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"missing html", func(f fstest.MapFS) { delete(f, "welcome.html.tmpl") }, "missing welcome.html.tmpl"},
		{"missing subject", func(f fstest.MapFS) { delete(f, "welcome.subject.tmpl") }, "missing welcome.subject.tmpl"},
		{"missing text", func(f fstest.MapFS) { delete(f, "welcome.txt.tmpl") }, "missing welcome.txt.tmpl"},
		{"parse error", func(f fstest.MapFS) { f["welcome.txt.tmpl"] = &fstest.MapFile{Data: []byte("{{.Name")} }, "welcome.txt.tmpl"},
		{"html parse error", func(f fstest.MapFS) { f["welcome.html.tmpl"] = &fstest.MapFile{Data: []byte("{{if}}")} }, "welcome.html.tmpl"},
		{"second mail incomplete", func(f fstest.MapFS) { f["bye.txt.tmpl"] = &fstest.MapFile{Data: []byte("bye")} }, "missing bye.subject.tmpl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := welcomeFS()
			tt.change(fsys)
			_, err := mail.ParseTemplates(fsys, ".")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
