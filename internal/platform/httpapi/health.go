package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// CheckTimeout bounds each readiness check.
const CheckTimeout = 2 * time.Second

// healthOutput is the body of /healthz.
type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok" doc:"Always ok: the process is up."`
	}
}

// readyOutput is the body of a successful /readyz.
type readyOutput struct {
	Body struct {
		Status string            `json:"status" example:"ok" doc:"ok: every dependency is reachable."`
		Checks map[string]string `json:"checks" doc:"Each check by name, with its status (ok)."`
	}
}

// registerHealth registers /healthz and /readyz as operations, so they are
// documented with the rest.
func (s *Server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "platform-healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness",
		Description: "Answers 200 while the process is up.",
		Tags:        []string{"platform"},
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "platform-readyz",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness",
		Description: "Runs every dependency check (database, Redis, blob store) with a timeout. " +
			"Answers 200 when all pass, else 503 with Retry-After, naming the failed checks.",
		Tags:   []string{"platform"},
		Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		return s.ready(ctx)
	})
}

// ready runs the checks concurrently. A failure's error text is logged, not
// shown: it may name hosts and addresses.
func (s *Server) ready(ctx context.Context) (*readyOutput, error) {
	results := make([]error, len(s.checks))
	var wg sync.WaitGroup
	for i, c := range s.checks {
		wg.Go(func() {
			results[i] = runCheck(ctx, c)
		})
	}
	wg.Wait()

	out := &readyOutput{}
	out.Body.Status = "ok"
	out.Body.Checks = make(map[string]string, len(s.checks))
	var failed []string
	var details []*huma.ErrorDetail
	for i, c := range s.checks {
		if err := results[i]; err != nil {
			status := "failed"
			if errors.Is(err, context.DeadlineExceeded) {
				status = "timed out"
			}
			s.log.WarnContext(ctx, "readiness check failed", "check", c.Name, "error", err.Error())
			failed = append(failed, c.Name)
			details = append(details, &huma.ErrorDetail{Location: "checks." + c.Name, Message: status})
			continue
		}
		out.Body.Checks[c.Name] = "ok"
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		p := newProblem(http.StatusServiceUnavailable, "not ready: "+strings.Join(failed, ", "))
		p.Errors = details
		return nil, p
	}
	return out, nil
}

// runCheck runs one check with CheckTimeout, turning a panic into an error.
func runCheck(ctx context.Context, c Check) error {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- errors.New("check panicked")
			}
		}()
		done <- c.Check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// A check that ignores its context is abandoned, not waited for.
		return ctx.Err()
	}
}
