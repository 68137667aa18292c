package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The files benchmarks (docs/performance.md, "Files"):
//
//	go test ./bench/ -run '^$' -bench Files -benchtime 1x
//
// BenchmarkFilesTransfer1GiB and BenchmarkFilesConcurrentUploads run the node
// in a child process (nodetest.Spawn: this test binary re-executed, see
// TestMain), so that its resident set is measured apart from the client's;
// BenchmarkFilesList runs it in-process. Postgres variants need
// TESSERA_TEST_POSTGRES_URL, the S3 one TESSERA_TEST_S3_URL and its keys.

// TestMain lets the test binary run as a files node (nodetest.Spawn).
func TestMain(m *testing.M) {
	nodetest.ChildMain(files.App())
	os.Exit(m.Run())
}

const filesPassword = "correct horse battery staple"

// filesNode is a node with the files app and an HTTP client to it.
type filesNode struct {
	n      *nodetest.Node
	pid    int // the node's process when spawned; 0 when in-process
	client *http.Client
}

// filesUser is a signed-in user acting in one org.
type filesUser struct {
	id, email, token, org string
}

func newFilesClient(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// spawnFiles starts a node with the files app in a child process, on a
// fresh database of engine and a fresh data directory, plus environ.
func spawnFiles(b *testing.B, engine store.Engine, environ ...string) *filesNode {
	b.Helper()
	cfg := nodetest.Config(b, engine, []app.App{files.App()}, environ...)
	p := nodetest.Spawn(b, append([]string{"TESSERA_DATABASE=" + cfg.Database, "TESSERA_DATA_DIR=" + cfg.DataDir}, environ...)...)
	fn := &filesNode{n: &nodetest.Node{URL: p.URL, Config: cfg, Proc: p}, client: newFilesClient(b)}
	fn.pid = filesChildPID(b, p.URL)
	return fn
}

// startFiles starts a node with the files app in this process.
func startFiles(b *testing.B, engine store.Engine) *filesNode {
	b.Helper()
	apps := []app.App{files.App()}
	n := nodetest.Start(b, nodetest.Config(b, engine, apps), apps...)
	return &filesNode{n: n, client: newFilesClient(b)}
}

// filesChildPID finds the node process serving base: a child of this
// process whose environment has its TESSERA_ADDR (nodetest.Proc does not
// expose its pid).
func filesChildPID(b *testing.B, base string) int {
	b.Helper()
	want := []byte("TESSERA_ADDR=" + strings.TrimPrefix(base, "http://") + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Logf("no /proc (%v): the node's memory is not measured", err)
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _ := filesProcStat(pid); ppid != os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) {
			return pid
		}
	}
	b.Fatalf("node process serving %s not found among the children of %d", base, os.Getpid())
	return 0
}

// filesProcStat reads the parent pid and the CPU time (user + system) of
// process pid from /proc/<pid>/stat (clock ticks at USER_HZ = 100).
func filesProcStat(pid int) (ppid int, cpu time.Duration) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0
	}
	s := string(raw)
	// pid (comm) state ppid … utime(14) stime(15): comm may hold spaces.
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return ppid, time.Duration(utime+stime) * 10 * time.Millisecond
}

// filesProcMem reads VmRSS and VmHWM (the peak resident set so far) of
// process pid, in bytes; 0 when unknown.
func filesProcMem(pid int) (rss, hwm uint64) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// filesRSSPeak samples process pid's VmRSS every 5 ms while fn runs and
// returns the highest sample.
func filesRSSPeak(pid int, fn func()) uint64 {
	var peak uint64 // written by the probe only, read after Sampling
	measure.Sampling(5*time.Millisecond, func() {
		if rss, _ := filesProcMem(pid); rss > peak {
			peak = rss
		}
	}, fn)
	return peak
}

const mib = 1 << 20

// signUp signs a user up (with the mailed code) and signs them in.
func (fn *filesNode) signUp(b *testing.B, email string) filesUser {
	b.Helper()
	id, token := fn.n.SignUp(b, email, filesPassword, email, "")
	return filesUser{id: id, email: email, token: token}
}

// refresh signs u in again (access tokens last 15 minutes).
func (fn *filesNode) refresh(b *testing.B, u *filesUser) {
	b.Helper()
	u.token = fn.n.SignIn(b, u.email, filesPassword)
}

// newOrg creates an org owned by owner, who then acts in it.
func (fn *filesNode) newOrg(b *testing.B, owner *filesUser, name string) {
	b.Helper()
	var o struct {
		ID string `json:"id"`
	}
	filesDecode(b, testhttp.Expect(b, http.StatusCreated, http.MethodPost, fn.n.URL+"/orgs", `{"name":"`+name+`"}`, testhttp.Bearer(owner.token)), &o)
	owner.org = o.ID
}

// join makes u a member of owner's org, acting in it.
func (fn *filesNode) join(b *testing.B, owner filesUser, u *filesUser) {
	b.Helper()
	testhttp.Expect(b, http.StatusCreated, http.MethodPut, fn.n.URL+"/orgs/"+owner.org+"/members/"+u.id, `{"role":"member","level":0}`,
		testhttp.Bearer(owner.token))
	u.org = owner.org
}

func filesDecode(b *testing.B, s string, v any) {
	b.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		b.Fatalf("decode %.300s: %v", s, err)
	}
}

// request sends one request as u (token, X-Org-ID, headers in pairs) with
// body of size bytes (-1: unknown).
func (fn *filesNode) request(ctx context.Context, u filesUser, method, path string, body io.Reader, size int64, headers ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, fn.n.URL+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("X-Org-ID", u.org)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return fn.client.Do(req)
}

// get sends a GET as u and reads the whole answer.
func (fn *filesNode) get(u filesUser, path string) (int, []byte, error) {
	resp, err := fn.request(context.Background(), u, http.MethodGet, path, nil, 0)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// upload POSTs size bytes of body as a new file named name (raw body).
func (fn *filesNode) upload(u filesUser, name string, body io.Reader, size int64) (files.File, error) {
	resp, err := fn.request(context.Background(), u, http.MethodPost, "/files", body, size,
		"X-File-Name", name, "Content-Type", "application/octet-stream")
	if err != nil {
		return files.File{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return files.File{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return files.File{}, fmt.Errorf("upload %s: %d %.300s", name, resp.StatusCode, out)
	}
	var f files.File
	return f, json.Unmarshal(out, &f)
}

// download GETs file id's content into w (through a 1 MiB buffer, as
// neither side is a file the kernel could copy between) and returns the
// bytes read.
func (fn *filesNode) download(u filesUser, id string, w io.Writer, buf []byte) (int64, error) {
	resp, err := fn.request(context.Background(), u, http.MethodGet, "/files/"+id+"/content", nil, 0)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, fmt.Errorf("download %s: %d %s", id, resp.StatusCode, out)
	}
	return io.CopyBuffer(filesWriterOnly{w}, filesReaderOnly{resp.Body}, buf)
}

// remove deletes file id for good (its blob too).
func (fn *filesNode) remove(u filesUser, id string) error {
	resp, err := fn.request(context.Background(), u, http.MethodDelete, "/files/"+id+"?permanent=true", nil, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("delete %s: %d %s", id, resp.StatusCode, out)
	}
	return nil
}

// filesReaderOnly and filesWriterOnly hide everything but Read and Write,
// so io.Copy moves the bytes through its buffer (no ReadFrom/WriteTo
// shortcut of a smaller buffer).
type filesReaderOnly struct{ r io.Reader }

func (r filesReaderOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

type filesWriterOnly struct{ w io.Writer }

func (w filesWriterOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// filesSource writes size pseudo-random bytes (ChaCha8, fixed seed) to a
// new file in dir, fsyncs it and returns its path and SHA-256 (hex).
func filesSource(b *testing.B, dir string, size int64) (string, string) {
	b.Helper()
	path := filepath.Join(dir, "source.bin")
	f, err := os.Create(path) // #nosec G304 -- the benchmark's temp dir
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{42})
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(rng, size), make([]byte, mib)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// filesTimeCP times `cp src dst` followed by an fsync of dst (the upload's
// 201 comes after the blob store's fsync), then removes dst.
func filesTimeCP(b *testing.B, src, dst string) time.Duration {
	b.Helper()
	t0 := time.Now()
	if out, err := exec.CommandContext(context.Background(), "cp", src, dst).CombinedOutput(); err != nil { // #nosec G204 -- temp paths
		b.Fatalf("cp: %v: %s", err, out)
	}
	filesFsync(b, dst)
	d := time.Since(t0)
	if err := os.Remove(dst); err != nil {
		b.Fatal(err)
	}
	return d
}

// filesTimeStream times the user-space copy of src into a new file dst
// through a 1 MiB buffer, then fsync (what any streamed upload has to do),
// then removes dst.
func filesTimeStream(b *testing.B, src, dst string, buf []byte) time.Duration {
	b.Helper()
	t0 := time.Now()
	in, err := os.Open(src) // #nosec G304 -- temp paths
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst) // #nosec G304 -- temp paths
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(filesWriterOnly{out}, filesReaderOnly{in}, buf); err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		b.Fatal(err)
	}
	d := time.Since(t0)
	if err := os.Remove(dst); err != nil {
		b.Fatal(err)
	}
	return d
}

func filesFsync(b *testing.B, path string) {
	b.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0) // #nosec G304 -- temp paths
	if err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		b.Fatal(err)
	}
}

// filesFileSHA256 hashes the file at path.
func filesFileSHA256(b *testing.B, path string) string {
	b.Helper()
	f, err := os.Open(path) // #nosec G304 -- temp paths
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, mib)); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// filesMBps is size bytes over d in MB/s (10^6 bytes, as go test's MB/s).
func filesMBps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

// BenchmarkFilesTransfer1GiB: one 1 GiB file through the HTTP API against
// cp of the same file on the same filesystem, on the filesystem blob
// backend ("fs") and on S3 (versitygw, "s3"); SQLite database. The node runs
// in a child process; the client is this process. The source is a file of
// pseudo-random bytes in a temp dir on the same filesystem as the node's
// data dir (and versitygw's, /tmp). One op, each step after a sync(2) so it
// does not pay for its predecessor's writeback:
//
//  1. cp src dst + fsync(dst) (coreutils cp: copy_file_range, a kernel copy);
//  2. a user-space copy src → dst through a 1 MiB buffer + fsync ("stream");
//  3. upload: POST /files, raw body streamed from the file (Content-Length
//     set), timed until the 201 (the blob is fsynced before it);
//  4. download: GET /files/{id}/content written to a file through a 1 MiB
//     buffer + fsync, timed until the fsync returns (down-fsync-s: the
//     fsync's share);
//  5. the same download into io.Discard (no disk on the client side);
//  6. the stream copy and cp again.
//
// ratio-*-vs-cp is the transfer's MB/s over cp's (the mean of its two
// timings); ratio-*-vs-stream the same against the stream copy. The node's
// VmRSS is sampled every 5 ms during the transfers: rss-growth-MiB is the
// highest sample over the VmRSS just before the upload (after a warm-up
// upload and download of 1 MiB), hwm-over-start-MiB is VmHWM after the
// transfers over that same VmRSS (an upper bound that also catches a peak
// between samples, or one from before). srv-cpu-s-* is the node's CPU time
// (user + system) during each transfer. The file is deleted (blob
// included) after each op; the downloaded copy is checked against the
// source's SHA-256.
func BenchmarkFilesTransfer1GiB(b *testing.B) {
	const size = 1 << 30
	dir := b.TempDir()
	if free, ok := filesFreeBytes(dir); ok && free < 8*size {
		b.Skipf("%s has %d MiB free: this benchmark needs 8 GiB", dir, free>>20)
	}
	src, sum := filesSource(b, dir, size)
	for _, backend := range []string{"fs", "s3"} {
		b.Run(backend, func(b *testing.B) {
			var env []string
			if backend == "s3" {
				bucket := blobtest.NewBucket(b) // skips without TESSERA_TEST_S3_URL
				env = []string{"TESSERA_BLOBS=" + bucket.URL.String(), "TESSERA_S3_ACCESS_KEY=" + bucket.Access, "TESSERA_S3_SECRET_KEY=" + bucket.Secret}
			}
			fn := spawnFiles(b, store.EngineSQLite, env...)
			if same, ok := filesSameFS(dir, fn.n.Config.DataDir); ok && !same {
				b.Fatalf("%s and the node's data dir %s are on different filesystems", dir, fn.n.Config.DataDir)
			}
			owner := fn.signUp(b, "owner@files.example")
			fn.newOrg(b, &owner, "Bench files")
			buf := make([]byte, mib)

			// Warm-up: a 1 MiB upload and its download, so that the
			// baseline includes what any first transfer allocates.
			warm := bytes.Repeat([]byte("warm-up "), mib/8)
			wf, err := fn.upload(owner, "warm-up.bin", bytes.NewReader(warm), int64(len(warm)))
			if err == nil {
				_, err = fn.download(owner, wf.ID, io.Discard, buf)
			}
			if err != nil {
				b.Fatal(err)
			}

			var cpD, streamD, upD, downD, downSync, discardD, srvUp, srvDown time.Duration
			var rssGrowth, hwmOver uint64
			ops := 0
			for b.Loop() {
				up0, down0, discard0 := upD, downD, discardD
				filesSync()
				cp1 := filesTimeCP(b, src, filepath.Join(dir, "cp.bin"))
				filesSync()
				stream1 := filesTimeStream(b, src, filepath.Join(dir, "stream.bin"), buf)
				filesSync()

				before, _ := filesProcMem(fn.pid)
				_, cpu0 := filesProcStat(fn.pid)
				var f files.File
				peakUp := filesRSSPeak(fn.pid, func() {
					in, err := os.Open(src) // #nosec G304 -- temp paths
					if err != nil {
						b.Fatal(err)
					}
					defer in.Close()
					t0 := time.Now()
					if f, err = fn.upload(owner, "big.bin", in, size); err != nil {
						b.Fatal(err)
					}
					upD += time.Since(t0)
				})
				_, cpu1 := filesProcStat(fn.pid)
				srvUp += cpu1 - cpu0
				if f.Size != size || f.SHA256 != sum {
					b.Fatalf("uploaded %d bytes with SHA-256 %s, want %d and %s", f.Size, f.SHA256, size, sum)
				}
				filesSync()

				dst := filepath.Join(dir, "download.bin")
				_, cpu0 = filesProcStat(fn.pid)
				peakDown := filesRSSPeak(fn.pid, func() {
					out, err := os.Create(dst) // #nosec G304 -- temp paths
					if err != nil {
						b.Fatal(err)
					}
					t0 := time.Now()
					n, err := fn.download(owner, f.ID, out, buf)
					t1 := time.Now()
					if err == nil {
						err = errors.Join(out.Sync(), out.Close())
					}
					downD, downSync = downD+time.Since(t0), downSync+time.Since(t1)
					if err != nil || n != size {
						b.Fatalf("download: %d bytes: %v", n, err)
					}
				})
				_, cpu1 = filesProcStat(fn.pid)
				srvDown += cpu1 - cpu0
				peakDiscard := filesRSSPeak(fn.pid, func() {
					t0 := time.Now()
					n, err := fn.download(owner, f.ID, io.Discard, buf)
					discardD += time.Since(t0)
					if err != nil || n != size {
						b.Fatalf("download: %d bytes: %v", n, err)
					}
				})
				_, hwm := filesProcMem(fn.pid)
				if got := filesFileSHA256(b, dst); got != sum {
					b.Fatalf("downloaded SHA-256 %s, want %s", got, sum)
				}
				if err := errors.Join(os.Remove(dst), fn.remove(owner, f.ID)); err != nil {
					b.Fatal(err)
				}
				filesSync()
				stream2 := filesTimeStream(b, src, filepath.Join(dir, "stream.bin"), buf)
				filesSync()
				cp2 := filesTimeCP(b, src, filepath.Join(dir, "cp.bin"))
				cpD, streamD = cpD+cp1+cp2, streamD+stream1+stream2
				b.Logf("MB/s: cp %.0f, stream %.0f, up %.0f, down %.0f, down-discard %.0f, stream %.0f, cp %.0f",
					filesMBps(size, cp1), filesMBps(size, stream1), filesMBps(size, upD-up0), filesMBps(size, downD-down0),
					filesMBps(size, discardD-discard0), filesMBps(size, stream2), filesMBps(size, cp2))

				if peak := max(peakUp, peakDown, peakDiscard); peak > before {
					rssGrowth = max(rssGrowth, peak-before)
				}
				if hwm > before {
					hwmOver = max(hwmOver, hwm-before)
				}
				b.Logf("node VmRSS before %d MiB, peak up %d / down %d / discard %d MiB, VmHWM %d MiB",
					before>>20, peakUp>>20, peakDown>>20, peakDiscard>>20, hwm>>20)
				ops++
			}
			b.StopTimer()
			total := int64(ops) * size
			cp, stream := filesMBps(2*total, cpD), filesMBps(2*total, streamD)
			up, down, discard := filesMBps(total, upD), filesMBps(total, downD), filesMBps(total, discardD)
			b.ReportMetric(cp, "cp-MB/s")
			b.ReportMetric(stream, "stream-MB/s")
			b.ReportMetric(up, "up-MB/s")
			b.ReportMetric(down, "down-MB/s")
			b.ReportMetric(discard, "down-discard-MB/s")
			b.ReportMetric(up/cp, "ratio-up-vs-cp")
			b.ReportMetric(down/cp, "ratio-down-vs-cp")
			b.ReportMetric(discard/cp, "ratio-down-discard-vs-cp")
			b.ReportMetric(downSync.Seconds()/float64(ops), "down-fsync-s")
			b.ReportMetric(up/stream, "ratio-up-vs-stream")
			b.ReportMetric(down/stream, "ratio-down-vs-stream")
			b.ReportMetric(float64(rssGrowth)/mib, "rss-growth-MiB")
			b.ReportMetric(float64(hwmOver)/mib, "hwm-over-start-MiB")
			b.ReportMetric(srvUp.Seconds()/float64(ops), "srv-cpu-s-up")
			b.ReportMetric(srvDown.Seconds()/float64(ops), "srv-cpu-s-down")
		})
	}
}

// filesPrefixed is a 10 MiB body made unique by its first 8 bytes.
type filesPrefixed struct {
	prefix [8]byte
	rest   []byte
	off    int
}

func (p *filesPrefixed) Read(b []byte) (int, error) {
	if p.off >= len(p.prefix)+len(p.rest) {
		return 0, io.EOF
	}
	var n int
	if p.off < len(p.prefix) {
		n = copy(b, p.prefix[p.off:])
	} else {
		n = copy(b, p.rest[p.off-len(p.prefix):])
	}
	p.off += n
	return n, nil
}

// BenchmarkFilesConcurrentUploads: 50 uploads of 10 MiB started at once
// (POST /files, raw body from memory, each from its own connection), on each
// engine with the filesystem blob backend; the node runs in a child
// process. One op is 3 rounds of 50 (a sync(2) before each round); MB/s is
// the bytes of all rounds over their wall time (each round from its first
// request to its last 201), p50/p99/max are per upload (150 per op; the
// p99 of 150 is the second highest). rss-growth-MiB is the node's highest
// VmRSS (sampled every 5 ms) over its VmRSS before the first round, after
// a warm-up round of 4 uploads. srv-cpu-ms-per-upload is the node's CPU time
// per upload.
func BenchmarkFilesConcurrentUploads(b *testing.B) {
	const uploads, size, rounds = 50, 10 * mib, 3
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			fn := spawnFiles(b, engine)
			owner := fn.signUp(b, "owner@files.example")
			fn.newOrg(b, &owner, "Bench files")
			payload := make([]byte, size-8)
			rng := rand.NewChaCha8([32]byte{7})
			_, _ = rng.Read(payload)
			body := func(i int) *filesPrefixed {
				p := &filesPrefixed{rest: payload}
				copy(p.prefix[:], fmt.Sprintf("%08d", i))
				return p
			}
			round := func(first, count int) ([]time.Duration, time.Duration) {
				lat := make([]time.Duration, count)
				errs := make([]error, count)
				var ready, wg sync.WaitGroup
				start := make(chan struct{})
				for i := range count {
					ready.Add(1)
					wg.Go(func() {
						r := body(first + i)
						ready.Done()
						<-start
						t0 := time.Now()
						_, errs[i] = fn.upload(owner, "upload-"+strconv.Itoa(first+i)+".bin", r, size)
						lat[i] = time.Since(t0)
					})
				}
				ready.Wait()
				t0 := time.Now()
				close(start)
				wg.Wait()
				wall := time.Since(t0)
				if err := errors.Join(errs...); err != nil {
					b.Fatal(err)
				}
				return lat, wall
			}
			round(0, 4) // warm-up: connections, statements, buffers
			filesSync()
			before, _ := filesProcMem(fn.pid)
			_, cpu0 := filesProcStat(fn.pid)
			var lat []time.Duration
			var wall time.Duration
			next := 4
			peak := filesRSSPeak(fn.pid, func() {
				for b.Loop() {
					for range rounds {
						b.StopTimer()
						filesSync()
						b.StartTimer()
						l, w := round(next, uploads)
						next += uploads
						lat, wall = append(lat, l...), wall+w
					}
				}
			})
			b.StopTimer()
			_, cpu1 := filesProcStat(fn.pid)
			b.ReportMetric(filesMBps(int64(len(lat))*size, wall), "MB/s")
			measure.ReportLatencies(b, lat, time.Millisecond)
			if peak > before {
				b.ReportMetric(float64(peak-before)/mib, "rss-growth-MiB")
			} else {
				b.ReportMetric(0, "rss-growth-MiB")
			}
			b.ReportMetric(float64(cpu1-cpu0)/float64(time.Millisecond)/float64(len(lat)), "srv-cpu-ms-per-upload")
		})
	}
}

// The listing workload: two orgs of 100,000 files each, owned by one user,
// in 100 folders (/team-00 … /team-99, 1,000 files each) named
// "<Adjective>-<Noun> <number>.txt" from 10×10 words (each word pair on 1 %
// of the files, 10 per folder). Org A's files carry an org grant (read) each,
// so its member reads them all through it; org B's have none, and its
// member has user grants (read) on 1,000 of them chosen at random (1 %).
const (
	filesListCount   = 100_000
	filesListFolders = 100
	filesListSparse  = 1_000
	filesListFolder  = "/team-42"
	filesListQ       = "blue-harbor"
)

var (
	filesAdjectives = []string{"Amber", "Blue", "Coral", "Dusty", "Early", "Faint", "Green", "Hazy", "Ivory", "Jolly"}
	filesNouns      = []string{"Anchor", "Bridge", "Canyon", "Delta", "Ember", "Forest", "Garden", "Harbor", "Island", "Jetty"}
)

// filesSeeded is a seeded file as the listing orders and filters it.
type filesSeeded struct {
	id, folder, key string
	sparse          bool // org B: granted to the sparse member
}

// filesListNode is the listing benchmark's node and seed.
type filesListNode struct {
	*filesNode
	owner, member, sparse filesUser // owner of A and B; member of A; member of B
	orgA, orgB            []filesSeeded
}

// filesSeed inserts the files of org (owned by owner) straight into the
// app's tables, as the app writes them (files_files, files_versions with a
// blob key no blob is behind, files_grants, files_usage): transactions of
// 10,000 files in 512-row INSERTs. grant says which principal, if any,
// gets a read grant on file i. Through POST /files the seed would take
// many minutes; listings read no blob.
func filesSeed(b *testing.B, db *store.DB, org, owner string, grant func(i int) (typ, principal string)) []filesSeeded {
	b.Helper()
	ctx := context.Background()
	const perTx, fileCols, versionCols, grantCols = 10_000, 13, 8, 7
	now := time.Now().UnixMicro()
	out := make([]filesSeeded, 0, filesListCount)
	var bytes int64
	for first := 0; first < filesListCount; first += perTx {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			i := first
			for _, size := range store.Chunks(perTx, 512) {
				fs := make([]any, 0, size*fileCols)
				vs := make([]any, 0, size*versionCols)
				var gs []any
				for range size {
					id := uuid.Must(uuid.NewV7()).String()
					w := (i / filesListFolders) % 100
					name := fmt.Sprintf("%s-%s %06d.txt", filesAdjectives[w/10], filesNouns[w%10], i)
					folder := fmt.Sprintf("/team-%02d", i%filesListFolders)
					sz := int64(1000 + i%5000)
					sum := fmt.Sprintf("%064x", i)
					fs = append(fs, id, org, owner, name, strings.ToLower(name), folder, sz, "text/plain", sum, 1, 1, now, now)
					vs = append(vs, id, 1, sz, sum, "text/plain", "files/"+id+"/"+uuid.Must(uuid.NewV7()).String(), owner, now)
					s := filesSeeded{id: id, folder: folder, key: strings.ToLower(name)}
					if typ, principal := grant(i); typ != "" {
						gs = append(gs, id, typ, principal, 1, owner, now, now)
						s.sparse = typ == files.PrincipalUser
					}
					out = append(out, s)
					bytes += sz
					i++
				}
				if _, err := tx.Exec(tx.Context(), `INSERT INTO files_files (id, org_id, owner_id, name, name_key, folder, size, content_type,
					sha256, version, revision, created_at, updated_at) VALUES `+store.Values(size, fileCols), fs...); err != nil {
					return err
				}
				if _, err := tx.Exec(tx.Context(), `INSERT INTO files_versions (file_id, version, size, sha256, content_type, blob_key,
					created_by, created_at) VALUES `+store.Values(size, versionCols), vs...); err != nil {
					return err
				}
				if n := len(gs) / grantCols; n > 0 {
					for _, chunk := range store.Chunks(n, 512) {
						if _, err := tx.Exec(tx.Context(), `INSERT INTO files_grants (file_id, principal_type, principal_id, access, created_by,
							created_at, updated_at) VALUES `+store.Values(chunk, grantCols), gs[:chunk*grantCols]...); err != nil {
							return err
						}
						gs = gs[chunk*grantCols:]
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `INSERT INTO files_usage (org_id, bytes) VALUES (?, ?)`, org, bytes); err != nil {
		b.Fatal(err)
	}
	return out
}

// startFilesList starts an in-process node on engine with the three users,
// the two orgs and their 200,000 files (see filesSeed); then, on Postgres,
// ANALYZEs the app's tables as autovacuum would after such a load (SQLite
// gets no ANALYZE: neither the app nor the store runs it).
func startFilesList(b *testing.B, engine store.Engine) *filesListNode {
	b.Helper()
	ctx := context.Background()
	fl := &filesListNode{filesNode: startFiles(b, engine)}
	fl.owner = fl.signUp(b, "owner@files.example")
	fl.member = fl.signUp(b, "member@files.example")
	fl.sparse = fl.signUp(b, "sparse@files.example")
	fl.newOrg(b, &fl.owner, "Org B")
	orgB := fl.owner.org
	fl.join(b, fl.owner, &fl.sparse)
	fl.newOrg(b, &fl.owner, "Org A") // the owner then acts in org A
	orgA := fl.owner.org
	fl.join(b, fl.owner, &fl.member)

	st, err := store.Open(ctx, fl.n.Config.Database, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	db := st.App("files")
	t0 := time.Now()
	fl.orgA = filesSeed(b, db, orgA, fl.owner.id, func(int) (string, string) { return files.PrincipalOrg, orgA })
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // a reproducible workload
	granted := make(map[int]bool, filesListSparse)
	for _, i := range rng.Perm(filesListCount)[:filesListSparse] {
		granted[i] = true
	}
	fl.orgB = filesSeed(b, db, orgB, fl.owner.id, func(i int) (string, string) {
		if granted[i] {
			return files.PrincipalUser, fl.sparse.id
		}
		return "", ""
	})
	if engine == store.EnginePostgres {
		for _, table := range []string{"files_files", "files_versions", "files_grants"} {
			if _, err := db.Exec(ctx, "ANALYZE "+table); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("seeded 200,000 files in %v", time.Since(t0).Round(time.Millisecond))
	return fl
}

// filesListPage is an answer of GET /files.
type filesListPage struct {
	Items      []files.File `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// visible is what u's listing (without filters) holds in the seed, in
// listing order; shared: its shared_with_me listing instead.
func (fl *filesListNode) visible(u filesUser, shared bool) []filesSeeded {
	var out []filesSeeded
	switch {
	case u.id == fl.owner.id && !shared:
		out = slices.Clone(fl.orgA)
	case u.id == fl.member.id:
		out = slices.Clone(fl.orgA) // through the org grant; owned by another user
	case u.id == fl.sparse.id:
		for _, f := range fl.orgB {
			if f.sparse {
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, func(a, b filesSeeded) int {
		return cmpJoin(strings.Compare(a.folder, b.folder), strings.Compare(a.key, b.key), strings.Compare(a.id, b.id))
	})
	return out
}

func cmpJoin(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

// filesListCase is one listing measured for each user.
type filesListCase struct {
	name   string
	query  string                   // after /files?limit=50
	shared bool                     // a shared_with_me listing
	keep   func(f filesSeeded) bool // the filter, on the visible files
	deep   bool                     // from the cursor halfway through
}

var filesListCases = []filesListCase{
	{name: "first-page", keep: func(filesSeeded) bool { return true }},
	{name: "deep-page", keep: func(filesSeeded) bool { return true }, deep: true},
	{name: "folder", query: "&folder=" + url.QueryEscape(filesListFolder), keep: func(f filesSeeded) bool { return f.folder == filesListFolder }},
	{name: "q", query: "&q=" + url.QueryEscape(filesListQ), keep: func(f filesSeeded) bool { return strings.Contains(f.key, filesListQ) }},
	{name: "shared-with-me", query: "&shared_with_me=true", shared: true, keep: func(filesSeeded) bool { return true }},
}

// walk pages through u's plain listing, 500 at a time, until skip files
// passed, and returns the cursor there.
func (fl *filesListNode) walk(b *testing.B, u filesUser, skip int) string {
	b.Helper()
	cursor := ""
	for passed := 0; passed < skip; {
		limit := min(500, skip-passed)
		path := "/files?limit=" + strconv.Itoa(limit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page filesListPage
		status, body, err := fl.get(u, path)
		if err != nil || status != http.StatusOK {
			b.Fatalf("GET %s: %d %.300s %v", path, status, body, err)
		}
		filesDecode(b, string(body), &page)
		if len(page.Items) != limit || page.NextCursor == "" {
			b.Fatalf("GET %s: %d items, next %q; want %d and more", path, len(page.Items), page.NextCursor, limit)
		}
		passed, cursor = passed+limit, page.NextCursor
	}
	return cursor
}

// BenchmarkFilesList: GET /files?limit=50 over loopback, one request at a
// time, in an org of 100,000 files (plus another org of 100,000 in the same
// tables; see startFilesList), on each engine, for three users: the org's
// owner ("owner", who owns every file), a member who reads every file
// through its org grant ("org-grant"), and a member of the other org who
// can read 1 % of its files through user grants ("sparse"). Listings: the
// first page; a deep page (from the cursor after half of the files the user
// sees, reached by paging 500 at a time); one folder of the 100
// (?folder=/team-42); a name search matching 1 % of the files
// (?q=blue-harbor); shared_with_me. Each answer's items are checked
// against the seed (the exact ids of the page, in order). One op is up to
// 200 requests (fewer when they take over 20 s, at least 20) after 5 warm-up
// ones; p50/p99/max are per request.
func BenchmarkFilesList(b *testing.B) {
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			fl := startFilesList(b, engine)
			for _, who := range []struct {
				name string
				u    *filesUser
			}{{"owner", &fl.owner}, {"org-grant", &fl.member}, {"sparse", &fl.sparse}} {
				for _, c := range filesListCases {
					b.Run(who.name+"/"+c.name, func(b *testing.B) {
						fl.refresh(b, who.u)
						u := *who.u
						want := slices.DeleteFunc(fl.visible(u, c.shared), func(f filesSeeded) bool { return !c.keep(f) })
						path := "/files?limit=50" + c.query
						if c.deep {
							half := len(want) / 2
							path += "&cursor=" + url.QueryEscape(fl.walk(b, u, half))
							want = want[half:]
						}
						want = want[:min(50, len(want))]
						call := func() time.Duration {
							t0 := time.Now()
							status, body, err := fl.get(u, path)
							d := time.Since(t0)
							if err != nil || status != http.StatusOK {
								b.Fatalf("GET %s: %d %.300s %v", path, status, body, err)
							}
							return d
						}
						// The answer, checked once.
						var page filesListPage
						status, body, err := fl.get(u, path)
						if err != nil || status != http.StatusOK {
							b.Fatalf("GET %s: %d %.300s %v", path, status, body, err)
						}
						filesDecode(b, string(body), &page)
						got := make([]string, len(page.Items))
						for i, f := range page.Items {
							got[i] = f.ID
						}
						wantIDs := make([]string, len(want))
						for i, f := range want {
							wantIDs[i] = f.id
						}
						if !slices.Equal(got, wantIDs) {
							b.Fatalf("GET %s as %s: %d items %v…, want %d %v…", path, who.name, len(got), got[:min(3, len(got))],
								len(wantIDs), wantIDs[:min(3, len(wantIDs))])
						}
						for range 5 {
							call()
						}
						var lat []time.Duration
						for b.Loop() {
							deadline := time.Now().Add(20 * time.Second)
							for i := 0; i < 200 && (i < 20 || time.Now().Before(deadline)); i++ {
								lat = append(lat, call())
							}
						}
						b.StopTimer()
						measure.ReportLatencies(b, lat, time.Millisecond)
						b.ReportMetric(float64(len(lat)), "requests")
						b.ReportMetric(float64(len(page.Items)), "items")
					})
				}
			}
		})
	}
}
