package loadgen

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/latency"
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		n    int
		d    time.Duration
	}{
		{1000, 50, 10 * time.Second},
		{250, 50, 10 * time.Second},
		{5000, 50, 10 * time.Second},
		{100, 2000, 10 * time.Second},
		{333, 7, 3 * time.Second},
		{10, 100, 2 * time.Second}, // fewer messages than members
	} {
		name := fmt.Sprintf("%g/s×%d×%s", tc.rate, tc.n, tc.d)
		var total int
		var times []time.Duration
		for i := range tc.n {
			p := plan(tc.rate, tc.n, i, tc.d)
			perMember := float64(time.Second) / float64(p.interval)
			if want := tc.rate / float64(tc.n); perMember < want*0.999 || perMember > want*1.001 {
				t.Errorf("%s: member rate %.3f/s, want %.3f/s", name, perMember, want)
			}
			total += p.count
			for k := range p.count {
				at := p.offset + time.Duration(k)*p.interval
				if at < 0 || at >= tc.d {
					t.Fatalf("%s: member %d message %d at %s, outside the step", name, i, k, at)
				}
				times = append(times, at)
			}
			if next := p.offset + time.Duration(p.count)*p.interval; next < tc.d {
				t.Errorf("%s: member %d stops before the end (next at %s)", name, i, next)
			}
		}
		want := tc.rate * tc.d.Seconds()
		if float64(total) < want-1 || float64(total) > want+1 {
			t.Errorf("%s: %d messages planned, want %.0f (±1)", name, total, want)
		}
		// The whole run's schedule is evenly spaced: gaps of 1/rate.
		slices.Sort(times)
		gap := time.Duration(float64(time.Second) / tc.rate)
		for k := 1; k < len(times); k++ {
			if g := times[k] - times[k-1]; g < gap-time.Microsecond || g > gap+time.Microsecond {
				t.Fatalf("%s: gap %s between messages %d and %d, want %s", name, g, k-1, k, gap)
			}
		}
	}
	if p := plan(0, 10, 0, time.Second); p.count != 0 {
		t.Errorf("rate 0 plans %d messages", p.count)
	}
}

func TestLossAccounting(t *testing.T) {
	// Two rooms of 3 and 2 members: 10 and 4 messages sent.
	if got := expectedDeliveries([]uint64{10, 4}, []int{3, 2}); got != 38 {
		t.Fatalf("expected deliveries = %d, want 38", got)
	}
	for _, tc := range []struct{ expected, delivered, lost, extra uint64 }{
		{38, 38, 0, 0}, {38, 30, 8, 0}, {38, 40, 0, 2}, {0, 0, 0, 0},
	} {
		lost, extra := accountLoss(tc.expected, tc.delivered)
		if lost != tc.lost || extra != tc.extra {
			t.Errorf("accountLoss(%d, %d) = %d, %d; want %d, %d", tc.expected, tc.delivered, lost, extra, tc.lost, tc.extra)
		}
	}
}

// TestReceipts drives member.handle with the frames a room of three would
// get: a step's messages are counted once per receiver, an earlier step's
// are late, other frames are errors by kind.
func TestReceipts(t *testing.T) {
	clk := newClock()
	rm := &room{id: 7}
	for i := range 3 {
		m := &member{idx: 10 + i, local: i, room: rm, step: 1, lastSeq: []int64{-1, -1, -1}}
		rm.members = append(rm.members, m)
	}
	now := time.Now()
	msg := func(roomID int64, id msgID) []byte {
		content := string(appendContent(nil, id, 0))
		return fmt.Appendf(nil, `{"type":"message","data":{"id":1,"room_id":%d,"emitter":"u","content":%q,"created_at":"2026-01-01T00:00:00Z"}}`, roomID, content)
	}
	sent := now.Add(-3 * time.Millisecond)
	// Sender 10 sends seq 0 and 1 in step 1; everyone receives both.
	for _, m := range rm.members {
		for seq := range int64(2) {
			m.handle(msg(7, msgID{step: 1, sender: 10, seq: seq, intended: clk.ns(sent), sentUnix: clk.ns(sent)}), clk.ns(now), now)
		}
	}
	r0 := rm.members[0]
	r0.handle(msg(7, msgID{step: 1, sender: 10, seq: 1, intended: clk.ns(sent), sentUnix: clk.ns(sent)}), clk.ns(now), now) // a duplicate
	r0.handle(msg(8, msgID{step: 1, sender: 10, seq: 2}), clk.ns(now), now)                                                 // another room
	r0.handle(msg(7, msgID{step: 1, sender: 99, seq: 0}), clk.ns(now), now)                                                 // not a member
	r0.handle([]byte(`{"type":"message","data":{"room_id":7,"content":"hello"}}`), clk.ns(now), now)
	r0.handle([]byte(`{"type":"status","data":"RATELIMITED"}`), clk.ns(now), now)
	r0.handle([]byte(`not json`), clk.ns(now), now)

	var delivered uint64
	for i, m := range rm.members {
		rec := m.collect(2)
		delivered += rec.received
		if i == 0 {
			if rec.received != 3 || rec.outOfOrder != 1 {
				t.Errorf("receiver 0: received %d, out of order %d; want 3, 1", rec.received, rec.outOfOrder)
			}
			want := map[string]uint64{"foreign-message": 3, "status:RATELIMITED": 1, "bad-frame": 1}
			if fmt.Sprint(rec.errors) != fmt.Sprint(want) || rec.errorsTotal != 5 {
				t.Errorf("receiver 0 errors %v (%d), want %v", rec.errors, rec.errorsTotal, want)
			}
		} else if rec.received != 2 || rec.errorsTotal != 0 {
			t.Errorf("receiver %d: received %d, errors %v", i, rec.received, rec.errors)
		}
		if i != 0 {
			var s latency.Sum
			s.Add(&rec.lat)
			if got := s.Quantile(0.5); got < 2900 || got > 3100 {
				t.Errorf("receiver %d: latency %d µs, want ~3000", i, got)
			}
		}
	}
	lost, extra := accountLoss(expectedDeliveries([]uint64{2}, []int{3}), delivered)
	if lost != 0 || extra != 1 {
		t.Errorf("lost %d extra %d, want 0 and 1 (the duplicate)", lost, extra)
	}

	// After the step closed, a step-1 message is late, not a delivery.
	r1 := rm.members[1]
	r1.handle(msg(7, msgID{step: 1, sender: 11, seq: 0}), clk.ns(now), now)
	if rec := r1.collect(3); rec.received != 0 || rec.late != 1 {
		t.Errorf("late message: received %d late %d", rec.received, rec.late)
	}
}

func TestContent(t *testing.T) {
	id := msgID{step: 3, sender: 1999, seq: 123456, intended: 1763700000123456789, sentUnix: 1763700000123999999}
	b := appendContent(nil, id, 0)
	if got, ok := parseContent(string(b)); !ok || got != id {
		t.Fatalf("round trip of %q: %+v %v", b, got, ok)
	}
	padded := appendContent(nil, id, 4000)
	if len(padded) != 4000 || !strings.HasPrefix(string(padded), string(b)+":x") {
		t.Fatalf("padded content: %d chars", len(padded))
	}
	if got, ok := parseContent(string(padded)); !ok || got != id {
		t.Fatalf("round trip of padded content: %+v %v", got, ok)
	}
	for _, bad := range []string{"", "hello", "1:2:3:4", "1:2:3:4:x", "-1:2:3:4:5", "1:2:3::5"} {
		if _, ok := parseContent(bad); ok {
			t.Errorf("parseContent(%q) accepted", bad)
		}
	}
}

func TestSteps(t *testing.T) {
	for _, tc := range []struct {
		step       string
		start, max float64
		want       []float64
	}{
		{"2", 250, 5000, []float64{250, 500, 1000, 2000, 4000, 5000}},
		{"x2", 250, 4000, []float64{250, 500, 1000, 2000, 4000}},
		{"+500", 500, 1800, []float64{500, 1000, 1500, 1800}},
		{"2", 100, 100, []float64{100}},
	} {
		s, err := ParseStep(tc.step)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.rates(tc.start, tc.max)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("-step %s from %g to %g: %v %v, want %v", tc.step, tc.start, tc.max, got, err, tc.want)
		}
	}
	for _, bad := range []string{"1", "0.5", "+0", "+-3", "abc", ""} {
		if _, err := ParseStep(bad); err == nil {
			t.Errorf("ParseStep(%q) accepted", bad)
		}
	}
	s, _ := ParseStep("2")
	if _, err := s.rates(200, 100); err == nil {
		t.Error("start above max accepted")
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\ttessera\nVmPeak:\t  900000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1000 kB\n"
	if got, err := parseVmRSS(status); err != nil || got != 12345*1024 {
		t.Fatalf("parseVmRSS = %d, %v", got, err)
	}
	if _, err := parseVmRSS("Name:\tkthreadd\n"); err == nil {
		t.Fatal("no VmRSS accepted")
	}
}

func TestScanMessage(t *testing.T) {
	for _, tc := range []struct {
		frame   string
		ok      bool
		room    int64
		content string
	}{
		{`{"type":"message","data":{"id":12,"room_id":7,"emitter":"0b0c","content":"1:2:3:4:5","created_at":"2026-01-01T00:00:00Z"}}`, true, 7, "1:2:3:4:5"},
		{`{"type":"message","data":{"content":"1:2:3:4:5:xx","room_id":123456789}}`, true, 123456789, "1:2:3:4:5:xx"},
		{`{"type":"message","data":{"id":1,"room_id":7,"content":"a\"b"}}`, false, 0, ""}, // an escape: encoding/json's
		{`{"type":"message","data":{"id":1,"room_id":"7","content":"x"}}`, false, 0, ""},
		{`{"type":"status","data":"RATELIMITED"}`, false, 0, ""},
		{`{"data":{"room_id":7,"content":"x"},"type":"message"}`, false, 0, ""},
		{`{"type":"message","data":{"id":1,"room_id":7}}`, false, 0, ""},
	} {
		msg, ok := scanMessage([]byte(tc.frame))
		if ok != tc.ok || (ok && (msg.RoomID != tc.room || msg.Content != tc.content)) {
			t.Errorf("scanMessage(%s) = %+v, %v", tc.frame, msg, ok)
		}
	}
}

func TestURLs(t *testing.T) {
	urls, err := ParseURLs("http://a:1, https://b:2/x/")
	if err != nil || !slices.Equal(urls, []string{"http://a:1", "https://b:2/x"}) {
		t.Fatalf("ParseURLs = %q, %v", urls, err)
	}
	var ws []string
	for _, u := range urls {
		w, err := chatURL(u)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	if !slices.Equal(ws, []string{"ws://a:1/messaging/chat", "wss://b:2/x/messaging/chat"}) {
		t.Fatalf("chat URLs %q", ws)
	}
	for _, bad := range []string{"ftp://x", "a:1", "http://", ""} {
		if _, err := ParseURLs(bad); err == nil {
			t.Errorf("ParseURLs(%q) accepted", bad)
		}
	}
}
