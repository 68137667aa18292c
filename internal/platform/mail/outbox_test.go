package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

const (
	testApp  = "shop"
	testFrom = "Tessera <no-reply@example.test>"
)

// setup migrates the mail line and an app "shop" (whose transactions enqueue
// mail, as an app's durable handler would) and returns the outbox and the
// app's handle.
func setup(t *testing.T, s *store.Store, sender mail.Sender) (*mail.Outbox, *store.DB) {
	t.Helper()
	app := store.MigrationSet{Schema: testApp, FS: fstest.MapFS{
		"0001_init.sql": {Data: []byte("-- +goose Up\nCREATE TABLE shop_orders (id TEXT PRIMARY KEY);\n")},
	}}
	if err := s.Migrate(context.Background(), mail.Migrations(), app); err != nil {
		t.Fatal(err)
	}
	return mail.NewOutbox(s, sender, mail.Options{Domain: "example.test"}), s.App(testApp)
}

func message(key, to string) mail.Message {
	return mail.Message{
		DedupeKey: key, App: testApp, Template: "order_placed", To: to,
		Content: mail.Content{Subject: "Order placed", Text: "Your code is 123456.\n", HTML: "<p>Your code is <b>123456</b>.</p>"},
	}
}

// enqueue stores m in an app transaction that also writes an app row, and
// returns the mail id and whether it was created.
func enqueue(t *testing.T, o *mail.Outbox, db *store.DB, m mail.Message) (string, bool) {
	t.Helper()
	var id string
	var created bool
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Exec(tx.Context(), "INSERT INTO shop_orders (id) VALUES (?)", fmt.Sprint(time.Now().UnixNano())); err != nil {
			return err
		}
		var err error
		id, created, err = o.Enqueue(tx.Context(), tx, m)
		return err
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return id, created
}

func TestEnqueueDedupes(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		o, db := setup(t, s, nil)
		ctx := context.Background()
		id1, created := enqueue(t, o, db, message("ev1:order_placed:ann@example.com", "Ann <ann@example.com>"))
		if !created || id1 == "" {
			t.Fatalf("first Enqueue: id %q, created %v", id1, created)
		}
		// A durable handler that runs twice for one event.
		id2, created := enqueue(t, o, db, message("ev1:order_placed:ann@example.com", "ann@example.com"))
		if created || id2 != id1 {
			t.Fatalf("second Enqueue: id %q created %v, want %q, false", id2, created, id1)
		}
		// Twice in one transaction.
		err := db.InTx(ctx, func(tx *store.Tx) error {
			a, c1, err := o.Enqueue(tx.Context(), tx, message("ev2:order_placed:bob@example.com", "bob@example.com"))
			if err != nil {
				return err
			}
			b, c2, err := o.Enqueue(tx.Context(), tx, message("ev2:order_placed:bob@example.com", "bob@example.com"))
			if err != nil {
				return err
			}
			if !c1 || c2 || a != b {
				return fmt.Errorf("in one tx: %q %v, %q %v", a, c1, b, c2)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// No dedupe key: every Enqueue is a new mail.
		n1, _ := enqueue(t, o, db, message("", "carol@example.com"))
		n2, _ := enqueue(t, o, db, message("", "carol@example.com"))
		if n1 == n2 {
			t.Fatal("two Enqueues without a dedupe key gave one mail")
		}

		mails, next, err := o.List(ctx, mail.ListFilter{})
		if err != nil || next != "" || len(mails) != 4 {
			t.Fatalf("List = %d mails, next %q, %v; want 4", len(mails), next, err)
		}
		m, err := o.Get(ctx, id1)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != "ann@example.com" || m.Status != mail.StatusPending || m.Attempts != 0 || m.App != testApp ||
			m.Template != "order_placed" || m.Subject != "Order placed" || m.SentAt != nil || m.MessageID != "" {
			t.Errorf("stored mail = %+v", m)
		}
		if time.Since(m.CreatedAt) > time.Minute || m.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v", m.CreatedAt)
		}
	})
}

// Handlers racing on one event (two nodes, a retried job) store one mail.
func TestEnqueueConcurrentlyStoresOneMail(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		o, db := setup(t, s, nil)
		const n = 8
		ids := make(chan string, n)
		created := make(chan bool, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				var id string
				var c bool
				err := db.InTx(context.Background(), func(tx *store.Tx) error {
					var err error
					id, c, err = o.Enqueue(tx.Context(), tx, message("ev1:order_placed:ann@example.com", "ann@example.com"))
					return err
				})
				if err != nil {
					t.Errorf("enqueue: %v", err) // not Fatal: this is not the test's goroutine
				}
				ids <- id
				created <- c
			})
		}
		wg.Wait()
		close(ids)
		close(created)
		first, creations := "", 0
		for id := range ids {
			if first == "" {
				first = id
			}
			if id != first {
				t.Errorf("ids differ: %s, %s", first, id)
			}
		}
		for c := range created {
			if c {
				creations++
			}
		}
		mails, _, err := o.List(context.Background(), mail.ListFilter{})
		if err != nil || len(mails) != 1 || creations != 1 {
			t.Fatalf("%d mails stored (%v), %d Enqueues created one; want 1 and 1", len(mails), err, creations)
		}
	})
}

func TestEnqueueRollsBackWithTheCaller(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		o, db := setup(t, s, nil)
		ctx := context.Background()
		var id string
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if id, _, err = o.Enqueue(tx.Context(), tx, message("ev1:x:ann@example.com", "ann@example.com")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if _, err := o.Get(ctx, id); !fault.Is(err, fault.NotFound) {
			t.Fatalf("Get after rollback = %v, want not_found", err)
		}
		if mails, _, _ := o.List(ctx, mail.ListFilter{}); len(mails) != 0 {
			t.Fatalf("List after rollback = %d mails", len(mails))
		}
		// The key is free again.
		if _, created := enqueue(t, o, db, message("ev1:x:ann@example.com", "ann@example.com")); !created {
			t.Fatal("key of a rolled-back mail is taken")
		}
	})
}

func TestEnqueueRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		o, db := setup(t, s, nil)
		for _, m := range []mail.Message{
			message("k1", "not an address"),
			message("k2", "a@example.com, b@example.com"),
			{DedupeKey: "k3", App: testApp, To: "a@example.com", Content: mail.Content{Text: "no subject"}},
			{DedupeKey: "k4", To: "a@example.com", Content: mail.Content{Subject: "s", Text: "no app"}},
		} {
			err := db.InTx(context.Background(), func(tx *store.Tx) error {
				_, _, err := o.Enqueue(tx.Context(), tx, m)
				return err
			})
			if !fault.Is(err, fault.Invalid) {
				t.Errorf("Enqueue(%+v) = %v, want invalid", m, err)
			}
		}
	})
}

func TestDeliverOverSMTP(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		srv := startSink(t, "127.0.0.1:0", nil)
		sender, err := mail.NewSender("smtp://"+srv.Addr, "", testFrom)
		if err != nil {
			t.Fatal(err)
		}
		o, db := setup(t, s, sender)
		ctx := context.Background()
		id, _ := enqueue(t, o, db, message("ev1:order_placed:ann@example.com", "ann@example.com"))

		if err := o.Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server received %d mails, want 1", len(msgs))
		}
		if msgs[0].From != "no-reply@example.test" || len(msgs[0].To) != 1 || msgs[0].To[0] != "ann@example.com" {
			t.Errorf("envelope: MAIL FROM %q RCPT TO %v", msgs[0].From, msgs[0].To)
		}
		m, err := o.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := parseMail(t, msgs[0].Data)
		checkHeaders(t, p, mail.Outgoing{ID: id, MessageID: "<" + id + "@example.test>", To: "ann@example.com", Subject: "Order placed", Date: m.CreatedAt})
		if p.Text != "Your code is 123456.\n" || p.HTML != "<p>Your code is <b>123456</b>.</p>" {
			t.Errorf("parts: text %q, html %q", p.Text, p.HTML)
		}
		if m.Status != mail.StatusSent || m.Attempts != 1 || m.SentAt == nil || m.MessageID != "<"+id+"@example.test>" || m.LastError != "" {
			t.Errorf("after Deliver: %+v", m)
		}

		// Delivering a sent mail sends nothing.
		if err := o.Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("second Deliver: server received %d mails, want 1", n)
		}
		if err := o.Deliver(ctx, "01970000-0000-7000-8000-000000000000"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("Deliver of an unknown id = %v, want not_found", err)
		}
	})
}

// freeAddr returns a local address nothing listens on (for a while).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestDeliverRetriesAfterTheServerWasDown(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		addr := freeAddr(t)
		sender, err := mail.NewSMTPSender("smtp://"+addr, testFrom)
		if err != nil {
			t.Fatal(err)
		}
		sender.Timeout = 5 * time.Second
		o, db := setup(t, s, sender)
		ctx := context.Background()
		id, _ := enqueue(t, o, db, message("ev1:order_placed:ann@example.com", "ann@example.com"))

		err = o.Deliver(ctx, id)
		if err == nil || errors.Is(err, mail.ErrPermanent) {
			t.Fatalf("Deliver with the server down = %v, want a transient error", err)
		}
		m, err := o.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != mail.StatusPending || m.Attempts != 1 || m.LastError == "" || m.SentAt != nil {
			t.Fatalf("after a failed attempt: %+v", m)
		}

		srv := startSink(t, addr, nil)
		if err := o.Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := o.Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("server received %d mails, want 1", n)
		}
		m, err = o.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != mail.StatusSent || m.Attempts != 2 || m.LastError != "" {
			t.Fatalf("after delivery: %+v", m)
		}
	})
}

func TestDeliverPermanentFailure(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		srv := startSink(t, "127.0.0.1:0", func(s *sink) { s.reject = "gone@example.com" })
		sender, err := mail.NewSMTPSender("smtp://"+srv.Addr, testFrom)
		if err != nil {
			t.Fatal(err)
		}
		o, db := setup(t, s, sender)
		ctx := context.Background()
		id, _ := enqueue(t, o, db, message("k1", "gone@example.com"))
		if err := o.Deliver(ctx, id); !errors.Is(err, mail.ErrPermanent) {
			t.Fatalf("Deliver to a refused recipient = %v, want ErrPermanent", err)
		}
		m, err := o.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != mail.StatusFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
			t.Fatalf("after a refusal: %+v", m)
		}

		// The job runner gives up on a pending mail: the delivery handler's
		// OnDead marks it failed.
		id2, _ := enqueue(t, o, db, message("k2", "ann@example.com"))
		if err := o.DeliveryHandler().OnDead(ctx, events.Event{Subject: id2}, errors.New("smtp down")); err != nil {
			t.Fatal(err)
		}
		if m, _ := o.Get(ctx, id2); m.Status != mail.StatusFailed || m.LastError != "gave up: smtp down" {
			t.Fatalf("after the last attempt: %+v", m)
		}
		if err := o.MarkFailed(ctx, "nope", "x"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("MarkFailed of an unknown id = %v, want not_found", err)
		}
	})
}

func TestDeliverToFiles(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		dir := t.TempDir()
		sender, err := mail.NewSender("", dir, testFrom)
		if err != nil {
			t.Fatal(err)
		}
		o, db := setup(t, s, sender)
		ctx := context.Background()
		id, _ := enqueue(t, o, db, message("k1", "ann@example.com"))
		if err := o.Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
		m, err := o.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		path := sender.(*mail.FileSender).Path(mail.Outgoing{ID: id, Date: m.CreatedAt})
		if !strings.HasPrefix(path, dir) || !strings.HasSuffix(path, "-"+id+".eml") {
			t.Fatalf("path %q", path)
		}
		if m.Status != mail.StatusSent {
			t.Fatalf("after Deliver: %+v", m)
		}
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		o, db := setup(t, s, &mail.FileSender{Dir: t.TempDir(), From: testFrom})
		ctx := context.Background()
		var ids []string
		for i, to := range []string{"ann@example.com", "bob@example.com", "Ann@Example.com", "carol@example.com", "ann@example.com"} {
			m := message(fmt.Sprintf("k%d", i), to)
			if i == 3 {
				m.App = "other"
			}
			id, _ := enqueue(t, o, db, m)
			ids = append(ids, id)
		}
		if err := o.Deliver(ctx, ids[1]); err != nil {
			t.Fatal(err)
		}

		// Pages of two, newest first.
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			mails, next, err := o.List(ctx, mail.ListFilter{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if page > 3 || len(mails) > 2 {
				t.Fatalf("page %d: %d mails", page, len(mails))
			}
			for _, m := range mails {
				got = append(got, m.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("pages = %v, want %v", got, want)
		}

		count := func(f mail.ListFilter) int {
			t.Helper()
			mails, _, err := o.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return len(mails)
		}
		for _, tt := range []struct {
			f    mail.ListFilter
			want int
		}{
			{mail.ListFilter{To: "ANN@example.com"}, 3},
			{mail.ListFilter{App: "other"}, 1},
			{mail.ListFilter{Status: mail.StatusSent}, 1},
			{mail.ListFilter{Status: mail.StatusPending, To: "ann@example.com", App: testApp}, 3},
			{mail.ListFilter{Status: mail.StatusFailed}, 0},
		} {
			if n := count(tt.f); n != tt.want {
				t.Errorf("List(%+v) = %d mails, want %d", tt.f, n, tt.want)
			}
		}
		for _, f := range []mail.ListFilter{{Status: "bogus"}, {Limit: -1}, {Limit: mail.MaxListLimit + 1}} {
			if _, _, err := o.List(ctx, f); !fault.Is(err, fault.Invalid) {
				t.Errorf("List(%+v) = %v, want invalid", f, err)
			}
		}
	})
}

// On Postgres an app may enqueue mail but not read any mail's content.
func TestAppCannotReadMail(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EnginePostgres)
	o, db := setup(t, s, nil)
	enqueue(t, o, db, message("k1", "ann@example.com"))
	var subject string
	err := db.QueryRow(context.Background(), "SELECT subject FROM mail.mail_outbox").Scan(&subject)
	if err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("app read a mail's subject: %q, %v; want permission denied", subject, err)
	}
}
