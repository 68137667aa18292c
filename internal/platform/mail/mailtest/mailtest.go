// Package mailtest reads the mails a node wrote to its file sink
// (<data_dir>/mail/*.eml) for tests: a test signs a user up and reads the
// code, or checks that a mail went out once, the way a person would.
package mailtest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Mail is a mail read back from the sink.
type Mail struct {
	To      string
	Subject string
	// Text is the decoded text/plain part, with \n line ends.
	Text string
}

// Read parses every complete mail in dir (files being written, named
// .tmp-…, are skipped).
func Read(t testing.TB, dir string) []Mail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []Mail
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // renamed into place when complete
		}
		b, err := os.ReadFile(filepath.Clean(f))
		if err != nil {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatalf("%s: subject: %v", f, err)
		}
		out = append(out, Mail{To: msg.Header.Get("To"), Subject: subject, Text: plainText(t, msg)})
	}
	return out
}

// To returns the mails in dir to addr whose subject contains subject.
func To(t testing.TB, dir, addr, subject string) []Mail {
	t.Helper()
	var out []Mail
	for _, m := range Read(t, dir) {
		if strings.Contains(strings.ToLower(m.To), strings.ToLower(addr)) && strings.Contains(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

// Wait waits up to 30 s for a mail in dir to addr whose subject contains
// subject, and returns the first.
func Wait(t testing.TB, dir, addr, subject string) Mail {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if ms := To(t, dir, addr, subject); len(ms) > 0 {
			return ms[0]
		}
	}
	t.Fatalf("no mail to %s with subject %q within 30s", addr, subject)
	return Mail{}
}

// plainText returns the text/plain part of msg, decoded.
func plainText(t testing.TB, msg *mail.Message) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decode(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			return decode(t, p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}

func decode(t testing.TB, enc string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(enc, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// Code waits for the user pool's confirmation mail to addr and returns its
// six-digit code.
func Code(t testing.TB, dir, addr string) string {
	t.Helper()
	m := Wait(t, dir, addr, "confirmation code")
	code := sixDigits.FindStringSubmatch(m.Text)
	if code == nil {
		t.Fatalf("no code in the confirmation mail to %s: %q", addr, m.Text)
	}
	return code[1]
}
