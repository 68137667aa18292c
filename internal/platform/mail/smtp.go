package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds connecting to the SMTP server and each command of
// a session.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPSender sends mail through an SMTP server (the submission service of a
// provider or a relay). Every Send opens its own connection, so it is safe
// for concurrent use.
type SMTPSender struct {
	host     string
	port     int
	implicit bool // smtps: TLS from the first byte
	user     string
	pass     string
	from     string
	// Timeout bounds the connection and each command; zero means
	// DefaultSMTPTimeout. Set it before the first Send.
	Timeout time.Duration
}

// NewSMTPSender parses rawURL and returns a sender using from as the From
// header:
//
//   - smtp://[user:pass@]host[:port]: port 587 by default; STARTTLS when the
//     server offers it (opportunistic), plain text otherwise;
//   - smtps://[user:pass@]host[:port]: port 465 by default; implicit TLS.
//
// With a user, it authenticates with PLAIN or LOGIN, whichever the server
// offers (or a stronger mechanism when it offers neither); go-mail refuses to
// send these credentials over an unencrypted connection except to localhost.
// The password may be percent-encoded. Errors never include the password.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: SMTP URL does not parse: want smtp://user:pass@host:port or smtps://…")
	}
	s := &SMTPSender{host: u.Hostname(), from: from}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("mail: unsupported SMTP URL scheme %q: want smtp:// or smtps://", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("mail: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL: invalid port %q", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return s, nil
}

// Addr returns host:port, for logs.
func (s *SMTPSender) Addr() string { return s.host + ":" + strconv.Itoa(s.port) }

// Send delivers m in one SMTP session. A 5xx reply of the server is returned
// wrapping ErrPermanent; connection failures and 4xx replies are transient.
func (s *SMTPSender) Send(ctx context.Context, m Outgoing) error {
	msg, err := newMsg(s.from, m)
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(timeout),
	}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts,
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
		)
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client for %s: %w", s.Addr(), err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if permanent(err) {
			return fmt.Errorf("mail: SMTP %s: %w: %w", s.Addr(), ErrPermanent, err)
		}
		return fmt.Errorf("mail: SMTP %s: %w", s.Addr(), err)
	}
	return nil
}

// permanent reports whether err carries a 5xx reply of the server.
func permanent(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}
