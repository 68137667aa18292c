package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Outgoing is one mail handed to a Sender: an outbox row, rendered.
type Outgoing struct {
	// ID is the outbox id; FileSender names its file with it.
	ID string
	// MessageID is the Message-ID header, angle brackets included
	// ("<id@host>"). It is derived from ID, so a resend carries the same one.
	MessageID string
	To        string
	Subject   string
	Text      string
	// HTML is optional: without it the mail is plain text only.
	HTML string
	// Date is the Date header: when the mail was enqueued, i.e. ready to
	// enter the mail system (RFC 5322 §3.6.1), so a resend carries the same.
	Date time.Time
}

// Sender delivers one mail. Implementations are safe for concurrent use.
type Sender interface {
	// Send delivers m or returns why not. An error wrapping ErrPermanent
	// means retrying the same mail cannot succeed (the server refused it
	// with a 5xx reply); any other error may be transient.
	Send(ctx context.Context, m Outgoing) error
}

// ErrPermanent marks a send error that retrying cannot fix.
var ErrPermanent = errors.New("mail: permanent failure")

// NewSender returns the sender the configuration asks for: an SMTPSender
// when smtpURL is set (smtp://user:pass@host:port or smtps://…, see
// NewSMTPSender), otherwise a FileSender writing .eml files into mailDir
// (<data_dir>/mail). from is the From header of every mail, such as the one
// DefaultFrom returns. Errors name the problem, never the password.
func NewSender(smtpURL, mailDir, from string) (Sender, error) {
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: invalid From address %q: %w", from, err)
	}
	if smtpURL == "" {
		if mailDir == "" {
			return nil, errors.New("mail: no SMTP URL and no mail directory")
		}
		return &FileSender{Dir: mailDir, From: from}, nil
	}
	return NewSMTPSender(smtpURL, from)
}

// DefaultFrom returns the From address of Tessera's mails,
// "Tessera <no-reply@HOST>", and HOST, the domain of Message-IDs, where HOST
// is the host name of publicURL (the public_url setting) without its port.
// The configuration has no key for the From address yet. A public URL
// without a usable host gives "localhost".
func DefaultFrom(publicURL string) (from, host string) {
	host = "localhost"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		h := strings.ToLower(u.Hostname())
		if _, err := netmail.ParseAddress("no-reply@" + h); err == nil {
			host = h
		}
	}
	return "Tessera <no-reply@" + host + ">", host
}

// newMsg builds the RFC 5322 message of m: multipart/alternative with a
// text/plain and a text/html part (text/plain alone without HTML), UTF-8,
// quoted-printable.
func newMsg(from string, m Outgoing) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: From %q: %w: %w", from, ErrPermanent, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: To %q: %w: %w", m.To, ErrPermanent, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"))
	msg.SetDateWithValue(m.Date)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
