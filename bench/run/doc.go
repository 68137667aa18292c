// Command run runs Tessera's benchmark set against running nodes (one node,
// several nodes, or a proxy in front of them) and appends a dated Markdown
// section to docs/performance.md: the machine, then one table row per
// workload with its storage mode, concurrency, throughput, p50, p99 and
// errors.
//
//	tessera admin-key create --json      # against the node's database: {"key_id","secret"}
//	go run ./bench/run -url http://127.0.0.1:8080 -admin-key KEY_ID:SECRET \
//	    -messaging-secret S -storage SQLite -label "single node SQLite"
//
// Principals. The runner signs its users up through the public API
// (POST /auth/signup), reads each confirmation code from the mail outbox
// with the admin key (GET /admin/mails: the outbox is in the database, so
// this works against any node and any mail transport), confirms and signs
// in. Every run makes its own users, org, restaurant and resources (names
// carry a random run id), so runs can follow each other on one database.
// The chat uses the messaging shared-secret tokens (-messaging-secret, the
// nodes' TESSERA_MESSAGING_JWT_SECRET), as bench/chatload does.
//
// Storage mode. A node does not tell its database engine or blob store, so
// -storage names them ("SQLite", "Postgres+Redis+S3"); the runner checks it
// against every URL's /readyz (a node with Redis has a redis check, and
// -storage must then say Redis, and the other way round).
//
// Workloads (-workloads, default all), in this order:
//
//	healthz          GET /healthz, no credentials
//	auth-me          GET /auth/me: a platform access token verified, the user read
//	records-create   POST /records/contracts in the run's org
//	records-get      GET /records/contracts/{id} of a random contract created by the run
//	events-create    POST /scheduling/events: worker w books resource w, 30-minute slots back to back (never a conflict)
//	events-list      GET /scheduling/events: first page (50) of one day of two booked resources
//	files-upload     POST /files, a raw body of -upload-size bytes
//	files-download   GET /files/{id}/content of a random file uploaded by the run
//	seatings-create  POST /restaurants/{id}/seatings by a customer, times over the coming 60 days
//	chat             bench/chatload scenario B (50 rooms × 2 members), stepped
//
// HTTP workloads are closed loops: -concurrency workers (worker w talks to
// URL w mod the number of URLs), each sending its next request when the
// previous answer is read, for -warmup (not counted), then for -duration.
// Throughput is the successful requests over the wall time from the start
// to the last answer; latency is per successful request, from the write to
// the end of the body; any other answer is an error, counted, and the
// first of each workload is quoted under the table. Percentiles come from
// bench/chatload/latency's log-linear histograms (bucket upper bounds, at
// most 3.1 % above the true value). After a workload that writes, and
// before the first, the runner waits (up to -settle) until the durable job
// queue has nothing due or running (GET /admin/jobs): the mails and
// handlers a workload causes are worked off before the next one starts,
// and the wait is noted.
//
// The chat row is the highest step (from -chat-start, -chat-step up to
// -chat-max msg/s, each of -duration plus -chat-drain) that met p99 ≤
// -chat-p99 with no loss; throughput is deliveries/s (each message reaches
// both members of its room); the steps are listed under the table. Members
// alternate between the URLs, so with two nodes most deliveries cross
// nodes.
//
// The runner shares the machine with the nodes when both run locally: its
// CPU use counts against them, as a real client's would not. The section
// records the load average before and after the run.
package main
