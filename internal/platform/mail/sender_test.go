package mail_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/mail"
)

// parsed is a mail read back with the standard library only.
type parsed struct {
	Header  netmail.Header
	Subject string // decoded
	Text    string
	HTML    string
}

// parseMail reads an RFC 5322 message with a multipart/alternative body.
func parseMail(t *testing.T, raw string) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	p := parsed{Header: msg.Header}
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		text := strings.ReplaceAll(string(body), "\r\n", "\n") // RFC 5322 lines end in CRLF
		switch ct {
		case "text/plain":
			p.Text = text
		case "text/html":
			p.HTML = text
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}

func sampleOutgoing() mail.Outgoing {
	return mail.Outgoing{
		ID:        "01970000-0000-7000-8000-000000000001",
		MessageID: "<01970000-0000-7000-8000-000000000001@example.test>",
		To:        "ann@example.com",
		Subject:   "Café: your code",
		Text:      "Your confirmation code is 123456.\n" + strings.Repeat("long line ", 20) + "\n",
		HTML:      "<p>Your confirmation code is <b>123456</b>.</p>",
		Date:      time.Date(2026, 3, 1, 12, 30, 45, 123456000, time.UTC),
	}
}

func TestFileSenderWritesAParseableEML(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	s := &mail.FileSender{Dir: dir, From: "Tessera <no-reply@example.test>"}
	m := sampleOutgoing()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// Sending again (a retry after a crash) replaces the file.
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("sink holds %d files, want 1 (no temporary files, one file per mail)", len(entries))
	}
	name := entries[0].Name()
	if want := "20260301T123045.123456Z-" + m.ID + ".eml"; name != want {
		t.Errorf("file name = %q, want %q", name, want)
	}
	if filepath.Join(dir, name) != s.Path(m) {
		t.Errorf("Path = %q, file is %q", s.Path(m), name)
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, string(raw))
	checkHeaders(t, p, m)
	if p.Text != m.Text {
		t.Errorf("text part = %q, want %q", p.Text, m.Text)
	}
	if p.HTML != m.HTML {
		t.Errorf("html part = %q, want %q", p.HTML, m.HTML)
	}
	if code := regexp.MustCompile(`code is (\d{6})`).FindStringSubmatch(p.Text); code == nil || code[1] != "123456" {
		t.Errorf("confirmation code not readable from the text part: %q", p.Text)
	}
}

func checkHeaders(t *testing.T, p parsed, m mail.Outgoing) {
	t.Helper()
	if got := p.Header.Get("Message-Id"); got != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", got, m.MessageID)
	}
	if p.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", p.Subject, m.Subject)
	}
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "no-reply@example.test" || from[0].Name != "Tessera" {
		t.Errorf("From = %v (%v), want Tessera <no-reply@example.test>", from, err)
	}
	to, err := p.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != m.To {
		t.Errorf("To = %v (%v), want %s", to, err, m.To)
	}
	date, err := p.Header.Date()
	if err != nil || !date.Equal(m.Date.Truncate(time.Second)) {
		t.Errorf("Date = %v (%v), want %v", date, err, m.Date.Truncate(time.Second))
	}
}

func TestFileSenderRefusesPathInID(t *testing.T) {
	t.Parallel()
	s := &mail.FileSender{Dir: t.TempDir(), From: "a@example.test"}
	m := sampleOutgoing()
	m.ID = "../escape"
	if err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
}

func TestSMTPSenderAuthenticates(t *testing.T) {
	t.Parallel()
	srv := startSink(t, "127.0.0.1:0", func(s *sink) { s.user, s.pass = "bob", "p@ss:word" })
	ctx := context.Background()
	m := sampleOutgoing()

	bad, err := mail.NewSMTPSender("smtp://bob:wrong@"+srv.Addr, "Tessera <no-reply@example.test>")
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Send(ctx, m); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong password: err = %v, want an error not showing the password", err)
	}
	good, err := mail.NewSMTPSender("smtp://bob:p%40ss%3Aword@"+srv.Addr, "Tessera <no-reply@example.test>")
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d mails, want 1", len(msgs))
	}
	checkHeaders(t, parseMail(t, msgs[0].Data), m)
}

func TestNewSender(t *testing.T) {
	t.Parallel()
	const from = "Tessera <no-reply@example.test>"
	s, err := mail.NewSender("", "/tmp/x/mail", from)
	if fs, ok := s.(*mail.FileSender); err != nil || !ok || fs.Dir != "/tmp/x/mail" || fs.From != from {
		t.Errorf(`NewSender("") = %#v, %v; want a FileSender`, s, err)
	}
	for _, tt := range []struct{ url, addr string }{
		{"smtp://user:pass@mail.example.com:2525", "mail.example.com:2525"},
		{"smtp://mail.example.com", "mail.example.com:587"},
		{"smtps://u:p@mail.example.com", "mail.example.com:465"},
	} {
		s, err := mail.NewSender(tt.url, "", from)
		ss, ok := s.(*mail.SMTPSender)
		if err != nil || !ok || ss.Addr() != tt.addr {
			t.Errorf("NewSender(%q) = %#v, %v; want an SMTPSender to %s", tt.url, s, err, tt.addr)
		}
	}
	for _, bad := range []string{"http://u:secret@h", "smtp://u:secret@:25", "smtp://u:secret@h:99999", "smtp://u:secret@h:x"} {
		_, err := mail.NewSender(bad, "", from)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("NewSender(%q): err = %v, want an error not showing the password", bad, err)
		}
	}
	if _, err := mail.NewSender("", "dir", "not an address"); err == nil {
		t.Error("invalid From accepted")
	}
}

func TestDefaultFrom(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, from, host string }{
		{"https://Tessera.Example.com:8443/base", "Tessera <no-reply@tessera.example.com>", "tessera.example.com"},
		{"http://127.0.0.1:8080", "Tessera <no-reply@127.0.0.1>", "127.0.0.1"},
		{"http://[::1]:8080", "Tessera <no-reply@localhost>", "localhost"},
		{"", "Tessera <no-reply@localhost>", "localhost"},
	} {
		from, host := mail.DefaultFrom(tt.url)
		if from != tt.from || host != tt.host {
			t.Errorf("DefaultFrom(%q) = %q, %q; want %q, %q", tt.url, from, host, tt.from, tt.host)
		}
	}
}
