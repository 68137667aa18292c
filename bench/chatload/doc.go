// Command chatload is a load generator for the messaging app's chat: it
// creates rooms over REST, connects every member over the websocket
// protocol (GET /messaging/chat: START? → token → READY → select_room →
// CONNECTED) and publishes at a stepped total rate, measuring delivery
// latency and loss per step, and optionally the server's RSS.
//
// Start the server first, then point chatload at it:
//
//	TESSERA_MESSAGING_JWT_SECRET=S go run ./cmd/tessera serve
//	go run ./bench/chatload -url http://127.0.0.1:8080 -secret S -scenario A -pid $(pgrep -n tessera)
//
// Scenarios (-scenario):
//
//	A       1 room × 50 members; rates 250, 500, 1000, 2000, 4000, 5000 msg/s
//	B       50 rooms × 2 members; rates 250 … 10000 msg/s
//	C       200 rooms × 10 members (2,000 connections) at a fixed 100 msg/s;
//	        with -pid, the server's RSS per idle connection
//	custom  -rooms N -members M; from -start (default 100) to -max (default
//	        the per-connection limit × connections)
//
// Users are random UUIDs of one random entity, at level 100, with HS256
// tokens signed with -secret (authz.SignShared, as the service owning the
// users would). Each room is created by its first member
// (POST /messaging/rooms); the creator's entity gets a rule (level 100,
// "rw", accepted) that admits every other member, so no per-member rule or
// invitation is needed (a room holds at most 10 rules).
//
// Rates. -start is the first step's total publish rate (msg/s, all
// members together); -step multiplies it ("2", "x1.5") or adds to it
// ("+500"); the last step is -max exactly. Each step publishes for
// -duration, then waits -drain for the stragglers. Every member sends
// rate/connections msg/s, evenly paced on its own schedule, the members'
// schedules staggered so the total is evenly spaced too. The server limits
// each connection's inbound frames (-conn-limit, 100/s with a burst of
// 200): a -max that would make a member send faster is capped, with a note
// (scenario A: 50 members × 100/s = 5,000 msg/s).
//
// Latency. A message's content is
// "<step>:<sender>:<seq>:<intended-unix-ns>:<sent-unix-ns>" (padded to
// -size characters). The server echoes it to every connection of the room,
// sender included; each receipt is timed when its frame has been read.
// Latency is receipt − intended send time (the schedule, not the moment the
// write happened): a generator that falls behind sends at once and its
// delay counts, so a stall is not hidden (no coordinated omission). The
// table's "p99 (from write)" column is receipt − actual write time, the
// server's share; a large gap between the two means the generator (or the
// TCP backpressure on its writes) is the bottleneck. Times come from one
// process's monotonic clock. Percentiles come from log-linear histograms:
// they are bucket upper bounds, at most 3.1 % above the true value (exact
// below 64 µs); max is exact.
//
// Loss. At the end of a step's drain, every connection's receipts of that
// step are counted: expected = Σ over rooms of (messages written
// successfully × members of the room); lost = expected − received. A
// message of the step arriving after the drain is lost (and counted as
// "late" in the next step). Frames other than messages (status frames such
// as RATELIMITED or NOTAUTHORIZED, error and query frames), closes, write
// failures and messages of other rooms are errors, counted by kind.
//
// Stepping stops after a step with p99 > -p99 (default 50 ms), any loss, or
// a connection that ended; "max sustained rate" is the last step that met
// both the latency and the loss bound.
//
// Output: a Markdown table, one row per step, on stdout; with -json the
// table goes to stderr and stdout gets the whole report as JSON. Progress
// goes to stderr. With -pid, the server's VmRSS (/proc/<pid>/status) is read
// before connecting, once every member is connected and idle (after
// -settle), and at the end of every step; RSS per idle connection is
// (connected − before) / connections.
//
// Memory: one reader goroutine and two 3.5 KiB latency histograms per
// connection, so 2,000 connections cost the generator a few tens of MiB.
// The generator shares the machine's CPUs with the server when both run
// locally: at high rates (scenario A at 5,000 msg/s is 250,000 receipts/s
// to decode) it is a load of its own, to keep in mind when reading results:
// -cpuprofile FILE profiles the generator, and the JSON's max_send_lag_us
// shows how late its sends went out. Message frames are parsed by a small
// scanner (encoding/json only for anything unexpected): with encoding/json
// the generator took half a CPU at 50,000 receipts/s.
//
// Code: the generator is package bench/chatload/loadgen (bench/run runs it
// too, as its chat workload), its histograms bench/chatload/latency; this
// command is its flags.
package main
