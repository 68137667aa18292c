package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"
)

// cronParser reads 5-field specs, 6-field specs with seconds first, and
// descriptors (@hourly, @every 10m).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule reads s's spec in its time zone.
func parseSchedule(s Schedule) (cron.Schedule, error) {
	spec := s.Cron
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			return nil, fmt.Errorf("jobs: schedule %q: unknown time zone %q: %w", s.Name, s.TimeZone, err)
		}
		spec = "CRON_TZ=" + s.TimeZone + " " + spec
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("jobs: schedule %q: invalid cron spec %q: %w", s.Name, s.Cron, err)
	}
	return sched, nil
}

// dedupPeriod is the window in which a second insertion of one schedule's job
// is dropped (a leader failover right at a tick): the shortest gap between
// ticks, at most a minute.
func dedupPeriod(sched cron.Schedule) time.Duration {
	gap := time.Minute
	t := sched.Next(time.Now())
	for range 5 {
		n := sched.Next(t)
		if n.IsZero() {
			break
		}
		gap = min(gap, n.Sub(t))
		t = n
	}
	return max(gap, time.Second)
}

// Schedule adds scheduled jobs. Names must be unique (lower-case dotted
// words); specs and time zones are checked here. Each tick runs Run once
// across all nodes: River's elected leader inserts the tick's job (a second
// insertion within the same tick, after a leader change, is dropped) and any
// node works it. A tick that falls while no node runs is skipped, not caught
// up.
func (r *Runner) Schedule(ss ...Schedule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return ErrStarted
	}
	for _, s := range ss {
		switch {
		case !name.MatchString(s.Name):
			return fmt.Errorf("jobs: invalid schedule name %q: want lower-case dotted words", s.Name)
		case r.schedules[s.Name].Run != nil:
			return fmt.Errorf("jobs: schedule %q registered twice", s.Name)
		case s.Run == nil:
			return fmt.Errorf("jobs: schedule %q has no Run", s.Name)
		}
		sched, err := parseSchedule(s)
		if err != nil {
			return err
		}
		period := dedupPeriod(sched)
		nameArg := s.Name
		_, err = r.client.PeriodicJobs().AddSafely(river.NewPeriodicJob(sched,
			func() (river.JobArgs, *river.InsertOpts) {
				return scheduleArgs{Name: nameArg}, &river.InsertOpts{
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: period},
				}
			}, &river.PeriodicJobOpts{ID: s.Name}))
		if err != nil {
			return fmt.Errorf("jobs: schedule %q: %w", s.Name, err)
		}
		r.schedules[s.Name] = s
	}
	return nil
}

// RunSchedule enqueues a run of the named schedule now (the admin API's "run
// now"; tests). It returns an error when there is no such schedule.
func (r *Runner) RunSchedule(ctx context.Context, name string) error {
	r.mu.RLock()
	_, ok := r.schedules[name]
	r.mu.RUnlock()
	if !ok {
		return fmt.Errorf("jobs: no schedule named %q", name)
	}
	if _, err := r.client.Insert(ctx, scheduleArgs{Name: name}, nil); err != nil {
		return fmt.Errorf("jobs: run schedule %q: %w", name, err)
	}
	return nil
}
