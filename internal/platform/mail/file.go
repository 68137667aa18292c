package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// FileSender is the mail sink used when no SMTP server is configured: each
// mail becomes an RFC 5322 file <Dir>/<time>-<id>.eml (time is the mail's
// Date in UTC, 20060102T150405.000000Z, so files sort by enqueue time), the
// same bytes an SMTP server would receive. A person or a test reads it with
// any mail client, or with net/mail and mime/multipart.
//
// Files appear atomically (written to a temporary file, synced, renamed), so
// a reader never sees half a mail; sending the same mail again replaces its
// file, so the sink holds each mail once.
type FileSender struct {
	Dir  string // created on first Send (0750)
	From string
}

// fileTimeFormat is the <time> of a sink file name.
const fileTimeFormat = "20060102T150405.000000Z"

// Path returns the file m is written to.
func (s *FileSender) Path(m Outgoing) string {
	return filepath.Join(s.Dir, m.Date.UTC().Format(fileTimeFormat)+"-"+m.ID+".eml")
}

// Send writes m to its file.
func (s *FileSender) Send(ctx context.Context, m Outgoing) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.ID == "" || filepath.Base(m.ID) != m.ID || m.ID == "." || m.ID == ".." {
		return fmt.Errorf("mail: invalid mail id %q for a file name: %w", m.ID, ErrPermanent)
	}
	msg, err := newMsg(s.From, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return fmt.Errorf("mail: sink directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail: sink file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := msg.WriteTo(tmp); err != nil {
		return fmt.Errorf("mail: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mail: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.Path(m)); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}
