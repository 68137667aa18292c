package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/latency"
	"github.com/tessera-dev/tessera/bench/chatload/loadgen"
)

// chatScenario is the chat workload's layout: bench/chatload's scenario B.
const chatScenario = "B"

// chat runs the chat workload (bench/chatload's generator) and returns its
// row, the highest step that met the bounds (or the first step when none
// did), and a line per step.
func (b *bench) chat(ctx context.Context) (row, []string, error) {
	sc := loadgen.Scenarios[chatScenario]
	cfg := loadgen.Config{
		URLs: b.o.urls, Secret: b.o.secret, Scenario: chatScenario, Rooms: sc.Rooms, Members: sc.Members,
		Start: b.o.chatStart, Max: b.o.chatMax, Step: b.o.chatStep,
		Duration: b.o.duration, Drain: b.o.chatDrain, P99: b.o.chatP99,
		ConnLimit: 100, Parallel: 64, WriteTimeout: 5 * time.Second, Log: b.log,
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return row{}, nil, err
	}
	if len(rep.Steps) == 0 {
		return row{}, nil, fmt.Errorf("no step ran (%s)", rep.StopReason)
	}
	for _, n := range rep.Notes {
		b.note("chat: %s", n)
	}
	pick := rep.Steps[0]
	met := rep.MaxSustained != nil
	var lines []string
	for _, s := range rep.Steps {
		if met && s.TargetRate == rep.MaxSustained.TargetRate {
			pick = s
		}
		mark := "met"
		if !s.OK {
			mark = "**missed**"
		}
		lines = append(lines, fmt.Sprintf("%.0f msg/s: sent %.0f/s, %.0f deliveries/s, p50 %s, p99 %s, max %s, lost %d, errors %d: %s",
			s.TargetRate, s.AchievedRate, s.DeliveriesPerS, latency.Format(s.P50US), latency.Format(s.P99US), latency.Format(s.MaxUS), s.Lost, s.Errors, mark))
	}
	lines = append(lines, "stopped: "+rep.StopReason)
	about := fmt.Sprintf("chat, bench/chatload scenario %s (%d rooms × %d members, members alternating over %d URL(s)): deliveries/s at the highest step with p99 ≤ %s and no loss, %.0f msg/s sent",
		chatScenario, sc.Rooms, sc.Members, len(b.o.urls), latency.Format(latency.US(b.o.chatP99)), pick.TargetRate)
	if !met {
		about = fmt.Sprintf("chat, bench/chatload scenario %s (%d rooms × %d members over %d URL(s)): **no step met p99 ≤ %s with no loss**; the first step, %.0f msg/s",
			chatScenario, sc.Rooms, sc.Members, len(b.o.urls), latency.Format(latency.US(b.o.chatP99)), pick.TargetRate)
	}
	dead := uint64(pick.DeadConnections) // #nosec G115 -- a count
	r := row{name: "chat", about: about, concurrency: fmt.Sprintf("%d conns", rep.Connections), ops: pick.Delivered, throughput: pick.DeliveriesPerS,
		p50: pick.P50US, p99: pick.P99US, errors: pick.Errors + pick.Lost + dead}
	if r.errors > 0 {
		r.firstErr = fmt.Sprintf("lost %d, dead connections %d, errors %v", pick.Lost, pick.DeadConnections, pick.ErrorKinds)
	}
	return r, lines, nil
}
