package realtime

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/measure"
)

// BenchmarkDeliveryLatency measures commit-to-subscriber latency (Append +
// Notify until the frame is read by the client) with 1,000 subscribers of
// one topic on one node; each iteration is one event delivered to all.
func BenchmarkDeliveryLatency(b *testing.B) {
	const subscribers = 1000
	log := &fakeLog{}
	h := startHub(b, log, nil)
	srv := httptestServe(b, h, func(c *Conn) {
		_ = c.Subscribe(Subscription{App: "chat", OrgID: "o1", Topics: []string{"room:1"}})
	})

	var sent atomic.Int64 // unix nanos of the current event's commit
	var received atomic.Int64
	done := make(chan struct{}, 1)
	lat := make([][]time.Duration, subscribers)
	var wg sync.WaitGroup
	for i := range subscribers {
		c := dial(b, srv, "")
		c.mustNextType("ready")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.ws.Read(context.Background()); err != nil {
					return
				}
				lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-sent.Load()))
				if received.Add(1) == subscribers {
					done <- struct{}{}
				}
			}
		}()
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		received.Store(0)
		sent.Store(time.Now().UnixNano())
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d,"text":"hello"}`, i))
		h.Notify()
		<-done
	}
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	measure.ReportLatencies(b, all, time.Microsecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = h.Shutdown(ctx)
	wg.Wait()
}

// BenchmarkIdleConnMemory measures the server-side cost of an idle
// connection with one subscription: live heap, goroutine stacks and
// goroutines per connection. Clients are raw TCP sockets that performed the
// websocket handshake (a few hundred bytes each, included in the heap
// figure), so the figures are close to the server's own.
func BenchmarkIdleConnMemory(b *testing.B) {
	const conns = 2000
	for b.Loop() {
		log := &fakeLog{}
		h := startHub(b, log, nil)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := h.Accept(w, r, AcceptOptions{})
			if err != nil {
				return
			}
			_ = c.Subscribe(Subscription{App: "chat", OrgID: "o1", Topics: []string{"room:" + r.URL.Query().Get("room")}})
		}))
		addr := strings.TrimPrefix(srv.URL, "http://")

		before := memSnapshot()
		clients := make([]net.Conn, 0, conns)
		for i := range conns {
			clients = append(clients, rawDial(b, addr, fmt.Sprintf("/?room=%d", i%50)))
		}
		eventually(b, 10*time.Second, func() bool { return value(b, h.metrics.subscriptions) == conns }, "subscriptions")
		after := memSnapshot()
		b.ReportMetric(float64(after.heap-before.heap)/conns, "heap-B/conn")
		b.ReportMetric(float64(after.stack-before.stack)/conns, "stack-B/conn")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/conns, "goroutines/conn")

		for _, c := range clients {
			_ = c.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = h.Shutdown(ctx)
		cancel()
		srv.Close()
	}
}

type mem struct {
	heap, stack uint64
	goroutines  int
}

func memSnapshot() mem {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return mem{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// rawDial performs a websocket handshake over a bare TCP socket and returns
// it without any client-side buffers or goroutines.
func rawDial(b *testing.B, addr, path string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	if err != nil {
		b.Fatal(err)
	}
	var buf [512]byte
	n := 0
	for !strings.Contains(string(buf[:n]), "\r\n\r\n") {
		m, err := c.Read(buf[n:])
		if err != nil {
			b.Fatal(err)
		}
		n += m
	}
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 101") {
		b.Fatalf("handshake: %s", buf[:n])
	}
	return c
}
