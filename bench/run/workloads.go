package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// workload is one row of HTTP requests.
type workload struct {
	name, about string
	// writes: the job queue is let drain after it.
	writes bool
	// prepare, when set, makes what the workload reads (not timed).
	prepare func(ctx context.Context) error
	// worker returns worker w's request function. It is called once for
	// the warm-up and once for the measured run.
	worker func(w int) request
	// finish, when set, runs after the measured run (keeps what it made).
	finish func()
}

// row is one line of the table.
type row struct {
	name, about string
	concurrency string
	ops         uint64
	throughput  float64 // per second
	p50, p99    uint64  // µs
	errors      uint64
	firstErr    string
}

// measure runs w: a fresh sign-in, prepare, the warm-up, the measured
// run, then (for a write) the queue's drain.
func (b *bench) measure(ctx context.Context, w workload) (row, error) {
	if err := b.refresh(ctx); err != nil {
		return row{}, err
	}
	if w.prepare != nil {
		if err := w.prepare(ctx); err != nil {
			return row{}, err
		}
	}
	n := b.o.concurrency
	if b.o.warmup > 0 {
		b.logf("%s: warm-up %s", w.name, b.o.warmup)
		if wr := drive(ctx, n, b.o.warmup, w.worker); wr.errors > 0 {
			b.note("%s: %d errors in the warm-up, the first: %s", w.name, wr.errors, wr.firstErr)
		}
	}
	b.logf("%s: %d workers for %s", w.name, n, b.o.duration)
	res := drive(ctx, n, b.o.duration, w.worker)
	if w.finish != nil {
		w.finish()
	}
	r := row{name: w.name, about: w.about, concurrency: fmt.Sprint(n), ops: res.ok, errors: res.errors, firstErr: res.firstErr,
		p50: res.lat.Quantile(0.50), p99: res.lat.Quantile(0.99)}
	if res.wall > 0 {
		r.throughput = float64(res.ok) / res.wall.Seconds()
	}
	b.logf("%s: %d ok (%.0f/s), p50 %dµs, p99 %dµs, %d errors", w.name, r.ops, r.throughput, r.p50, r.p99, r.errors)
	if w.writes {
		b.settleQueue(ctx, w.name)
	}
	return r, nil
}

// workloads are the HTTP workloads, in order.
func (b *bench) workloads() []workload {
	n := b.o.concurrency
	return []workload{
		{name: "healthz", about: "GET /healthz: the middleware chain, no credentials", worker: func(w int) request {
			return func(ctx context.Context, buf *bytes.Buffer) error {
				return b.c.do(ctx, buf, call{node: w, method: http.MethodGet, path: "/healthz", want: http.StatusOK})
			}
		}},
		{name: "auth-me", about: "GET /auth/me: a platform access token verified (EdDSA, then the verified-token cache), the user read", worker: func(w int) request {
			return func(ctx context.Context, buf *bytes.Buffer) error {
				return b.c.do(ctx, buf, call{node: w, method: http.MethodGet, path: "/auth/me", token: b.owner.token, want: http.StatusOK})
			}
		}},
		b.recordsCreate(n),
		b.recordsGet(),
		b.eventsCreate(),
		b.eventsList(),
		b.filesUpload(n),
		b.filesDownload(),
		b.seatingsCreate(),
	}
}

// id is the id field of a created item.
type id struct {
	ID string `json:"id"`
}

var contractStatuses = [...]string{"draft", "review", "signed", "expired"}

func (b *bench) createContract(ctx context.Context, buf *bytes.Buffer, node int, title string, k int) (string, error) {
	var out id
	body := fmt.Appendf(nil, `{"fields":{"title":%q,"value":%d.5,"status":%q}}`, title, k, contractStatuses[k%len(contractStatuses)])
	err := b.c.do(ctx, buf, call{node: node, method: http.MethodPost, path: "/records/contracts", body: body,
		token: b.owner.token, org: b.org, want: http.StatusCreated, out: &out})
	return out.ID, err
}

func (b *bench) recordsCreate(n int) workload {
	made := make([][]string, n) // made[w] is worker w's
	return workload{
		name: "records-create", writes: true,
		about: "POST /records/contracts (title, value, status; 4 indexed fields): one transaction with its event",
		worker: func(w int) request {
			return func(ctx context.Context, buf *bytes.Buffer) error {
				k := len(made[w])
				id, err := b.createContract(ctx, buf, w, fmt.Sprintf("Bench %s %d-%d", b.runID, w, k), k)
				if err == nil {
					made[w] = append(made[w], id)
				}
				return err
			}
		},
		finish: func() {
			for w := range made {
				b.records = append(b.records, made[w]...)
				made[w] = nil
			}
		},
	}
}

func (b *bench) recordsGet() workload {
	return workload{
		name:  "records-get",
		about: "GET /records/contracts/{id}, a random contract of the run's",
		prepare: func(ctx context.Context) error {
			var buf bytes.Buffer
			for k := len(b.records); k < 100; k++ {
				id, err := b.createContract(ctx, &buf, 0, fmt.Sprintf("Bench %s seed %d", b.runID, k), k)
				if err != nil {
					return err
				}
				b.records = append(b.records, id)
			}
			return nil
		},
		worker: func(w int) request {
			rng := rand.New(rand.NewPCG(uint64(w), 1)) // #nosec G404 G115 -- picks ids to read, not a secret; w ≥ 0
			return func(ctx context.Context, buf *bytes.Buffer) error {
				return b.c.do(ctx, buf, call{node: w, method: http.MethodGet, path: "/records/contracts/" + b.records[rng.IntN(len(b.records))],
					token: b.owner.token, org: b.org, want: http.StatusOK})
			}
		},
	}
}

// slot is the k-th 30-minute slot.
func (b *bench) slot(k int) (start, end time.Time) {
	start = b.base.Add(time.Duration(k) * 30 * time.Minute)
	return start, start.Add(30 * time.Minute)
}

// book books the next free slot of resource r (its owner's call only).
func (b *bench) book(ctx context.Context, buf *bytes.Buffer, node, r int) error {
	k := b.slots[r]
	start, end := b.slot(k)
	body := fmt.Appendf(nil, `{"title":"Bench %d.%d","start":%q,"end":%q,"resource_ids":[%q]}`,
		r, k, start.Format(time.RFC3339), end.Format(time.RFC3339), b.res[r])
	err := b.c.do(ctx, buf, call{node: node, method: http.MethodPost, path: "/scheduling/events", body: body,
		token: b.owner.token, org: b.org, want: http.StatusCreated})
	if err == nil {
		b.slots[r]++
	}
	return err
}

func (b *bench) eventsCreate() workload {
	return workload{
		name: "events-create", writes: true,
		about: "POST /scheduling/events: worker w books its own resource, 30-minute slots back to back (no conflict)",
		worker: func(w int) request {
			return func(ctx context.Context, buf *bytes.Buffer) error { return b.book(ctx, buf, w, w) }
		},
	}
}

// listDay is the slots of the day events-list reads.
const listDay = 48

func (b *bench) eventsList() workload {
	var path string
	return workload{
		name:  "events-list",
		about: "GET /scheduling/events, one day of two resources (96 events), first page of 50",
		prepare: func(ctx context.Context) error {
			var buf bytes.Buffer
			for r := range 2 {
				for b.slots[r] < listDay {
					if err := b.book(ctx, &buf, 0, r); err != nil {
						return err
					}
				}
			}
			from, _ := b.slot(0)
			q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(24 * time.Hour).Format(time.RFC3339)},
				"resource_ids": {b.res[0] + "," + b.res[1]}, "limit": {"50"}}
			path = "/scheduling/events?" + q.Encode()
			return nil
		},
		worker: func(w int) request {
			return func(ctx context.Context, buf *bytes.Buffer) error {
				return b.c.do(ctx, buf, call{node: w, method: http.MethodGet, path: path, token: b.owner.token, org: b.org, want: http.StatusOK})
			}
		},
	}
}

// upload stores content as a file named name in the run's folder.
func (b *bench) upload(ctx context.Context, buf *bytes.Buffer, node int, content []byte, name string) (string, error) {
	var out id
	err := b.c.do(ctx, buf, call{node: node, method: http.MethodPost, path: "/files", body: content, contentType: "application/octet-stream",
		header: map[string]string{"X-File-Name": name, "X-Folder": "/bench-" + b.runID},
		token:  b.owner.token, org: b.org, want: http.StatusCreated, out: &out})
	return out.ID, err
}

// fileContent is a file's bytes: text, so no thumbnail job is made.
func (b *bench) fileContent() []byte {
	return []byte(strings.Repeat("bench file line\n", b.o.uploadSize/16+1)[:b.o.uploadSize])
}

func (b *bench) filesUpload(n int) workload {
	made := make([][]string, n) // made[w] is worker w's
	return workload{
		name: "files-upload", writes: true,
		about: fmt.Sprintf("POST /files, a raw body of %d bytes (SHA-256, blob write, one transaction)", b.o.uploadSize),
		worker: func(w int) request {
			content := b.fileContent()
			return func(ctx context.Context, buf *bytes.Buffer) error {
				k := len(made[w])
				id, err := b.upload(ctx, buf, w, content, fmt.Sprintf("bench-%d-%d.txt", w, k))
				if err == nil {
					made[w] = append(made[w], id)
				}
				return err
			}
		},
		finish: func() {
			for w := range made {
				b.files = append(b.files, made[w]...)
				made[w] = nil
			}
		},
	}
}

func (b *bench) filesDownload() workload {
	return workload{
		name:  "files-download",
		about: fmt.Sprintf("GET /files/{id}/content, a random file of the run's (%d bytes)", b.o.uploadSize),
		prepare: func(ctx context.Context) error {
			var buf bytes.Buffer
			content := b.fileContent()
			for k := len(b.files); k < 20; k++ {
				id, err := b.upload(ctx, &buf, 0, content, fmt.Sprintf("seed-%d.txt", k))
				if err != nil {
					return err
				}
				b.files = append(b.files, id)
			}
			return nil
		},
		worker: func(w int) request {
			rng := rand.New(rand.NewPCG(uint64(w), 2)) // #nosec G404 G115 -- picks ids to read, not a secret; w ≥ 0
			return func(ctx context.Context, buf *bytes.Buffer) error {
				return b.c.do(ctx, buf, call{node: w, method: http.MethodGet, path: "/files/" + b.files[rng.IntN(len(b.files))] + "/content",
					token: b.owner.token, org: b.org, want: http.StatusOK, size: b.o.uploadSize})
			}
		},
	}
}

func (b *bench) seatingsCreate() workload {
	const spread = 60 * 24 * time.Hour
	base := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	n := b.o.concurrency
	counts := make([]int, n) // counts[w] is worker w's
	return workload{
		name: "seatings-create", writes: true,
		about: "POST /restaurants/{id}/seatings by a customer (times over the coming 60 days): the seating, its event, two mails queued",
		worker: func(w int) request {
			return func(ctx context.Context, buf *bytes.Buffer) error {
				i := counts[w]*n + w
				at := base.Add(time.Duration(i) * 7 * time.Minute % spread)
				body := fmt.Appendf(nil, `{"seatingTime":%q,"numSeats":%d,"notes":"bench %d"}`, at.Format(time.RFC3339), 1+i%50, i)
				err := b.c.do(ctx, buf, call{node: w, method: http.MethodPost, path: "/restaurants/" + b.rest + "/seatings", body: body,
					token: b.owner.token, want: http.StatusCreated})
				counts[w]++
				return err
			}
		},
	}
}
