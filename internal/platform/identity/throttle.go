package identity

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Throttling is per node: the counters live in memory, bounded in size. With
// N nodes behind a load balancer an attacker gets at most N times the
// allowance (the back-off still grows exponentially on each node). A
// cluster-wide limit (Redis) is left for later; see docs/identity.md.

// DefaultMaxThrottleKeys bounds each throttle map.
const DefaultMaxThrottleKeys = 100_000

// Backoff is the exponential back-off of failed sign-ins for one key (an
// account or a client IP): the first Free failures cost nothing; each one
// after blocks the key for Base·2^(n−Free−1), at most Max. A key is
// forgotten Reset after its last failure (or on success, for accounts).
type Backoff struct {
	Free  int
	Base  time.Duration
	Max   time.Duration
	Reset time.Duration
}

// Limit is a token-bucket rate limit per client IP: Burst requests at once,
// refilled at Every per request.
type Limit struct {
	Every time.Duration
	Burst int
}

// ThrottleOptions tune sign-in back-off and per-IP request limits. Zero
// fields take the defaults (DefaultThrottle).
type ThrottleOptions struct {
	Account Backoff // failed sign-ins per account (normalized email)
	IP      Backoff // failed sign-ins per client IP
	SignUp  Limit   // POST /auth/signup per IP
	Mail    Limit   // forgot-password and confirm/resend per IP
	// MailAddress limits forgot-password and confirm/resend per address
	// (whether or not it has an account, so a 429 reveals nothing): it
	// bounds mail bombing and the fresh 5 tries each new code gives.
	MailAddress Limit
	MaxKeys     int // entries per map; 0 means DefaultMaxThrottleKeys
}

// DefaultThrottle: 5 free failures per account then 1 s, 2 s, … up to 15
// min; 20 per IP then 1 s … 15 min; sign-up 10 per IP then one every 6 min;
// mails 10 per IP then one a minute, and 5 per address then one every 10 min.
var DefaultThrottle = ThrottleOptions{
	Account:     Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute, Reset: time.Hour},
	IP:          Backoff{Free: 20, Base: time.Second, Max: 15 * time.Minute, Reset: time.Hour},
	SignUp:      Limit{Every: 6 * time.Minute, Burst: 10},
	Mail:        Limit{Every: time.Minute, Burst: 10},
	MailAddress: Limit{Every: 10 * time.Minute, Burst: 5},
	MaxKeys:     DefaultMaxThrottleKeys,
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	d := DefaultThrottle
	if o.Account != (Backoff{}) {
		d.Account = o.Account
	}
	if o.IP != (Backoff{}) {
		d.IP = o.IP
	}
	if o.SignUp != (Limit{}) {
		d.SignUp = o.SignUp
	}
	if o.Mail != (Limit{}) {
		d.Mail = o.Mail
	}
	if o.MailAddress != (Limit{}) {
		d.MailAddress = o.MailAddress
	}
	if o.MaxKeys > 0 {
		d.MaxKeys = o.MaxKeys
	}
	return d
}

func rateLimited(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	f := fault.New(fault.RateLimited, "too many attempts: retry in %d seconds", secs)
	f.RetryAfter = secs
	return f
}

type failure struct {
	count        int
	last         time.Time
	blockedUntil time.Time
}

// backoff counts failures per key.
type backoff struct {
	cfg Backoff
	max int
	mu  sync.Mutex
	m   map[string]*failure
}

func newBackoff(cfg Backoff, maxKeys int) *backoff {
	return &backoff{cfg: cfg, max: maxKeys, m: map[string]*failure{}}
}

// check returns a rate-limited fault while key is blocked.
func (b *backoff) check(key string, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.m[key]
	if !ok {
		return nil
	}
	if now.Sub(f.last) >= b.cfg.Reset {
		delete(b.m, key)
		return nil
	}
	if now.Before(f.blockedUntil) {
		return rateLimited(f.blockedUntil.Sub(now))
	}
	return nil
}

// fail records a failure of key.
func (b *backoff) fail(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.m[key]
	if ok && now.Sub(f.last) >= b.cfg.Reset {
		ok = false
	}
	if !ok {
		b.makeRoom(now)
		f = &failure{}
		b.m[key] = f
	}
	f.count++
	f.last = now
	if over := f.count - b.cfg.Free; over > 0 {
		d := b.cfg.Max
		if over <= 30 {
			if e := b.cfg.Base << (over - 1); e > 0 && e < d {
				d = e
			}
		}
		f.blockedUntil = now.Add(d)
	}
}

// succeed forgets key.
func (b *backoff) succeed(key string) {
	b.mu.Lock()
	delete(b.m, key)
	b.mu.Unlock()
}

// makeRoom drops expired entries when the map is full, then arbitrary ones
// (bounded memory wins over precision under a flood of keys).
func (b *backoff) makeRoom(now time.Time) {
	if len(b.m) < b.max {
		return
	}
	for k, f := range b.m {
		if now.Sub(f.last) >= b.cfg.Reset {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < b.max {
			break
		}
		delete(b.m, k)
	}
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// limiter is a rate.Limiter per key, bounded in number.
type limiter struct {
	cfg Limit
	max int
	mu  sync.Mutex
	m   map[string]*bucket
}

func newLimiter(cfg Limit, maxKeys int) *limiter {
	return &limiter{cfg: cfg, max: maxKeys, m: map[string]*bucket{}}
}

// allow takes one request of key or returns a rate-limited fault.
func (l *limiter) allow(key string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= l.max {
			// A bucket idle long enough to be full again is as good as new.
			full := l.cfg.Every * time.Duration(l.cfg.Burst)
			for k, v := range l.m {
				if now.Sub(v.last) >= full {
					delete(l.m, k)
				}
			}
			for k := range l.m {
				if len(l.m) < l.max {
					break
				}
				delete(l.m, k)
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.cfg.Every), l.cfg.Burst)}
		l.m[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return rateLimited(l.cfg.Every)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return rateLimited(d)
	}
	return nil
}
