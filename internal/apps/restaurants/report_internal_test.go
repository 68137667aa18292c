package restaurants

import (
	"testing"
	"time"
)

// TestLastWeek: the Monday 06:00 run reports the week before, in the
// restaurants' time zone, whatever the server's clock zone.
func TestLastWeek(t *testing.T) {
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		loc  *time.Location
		want string
	}{
		{time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC), oslo, "2026-11-16"},       // Monday 06:00 in Oslo
		{time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), time.UTC, "2026-11-16"},   // Monday 06:00 UTC
		{time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), oslo, "2026-11-16"},     // already Monday in Oslo
		{time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), time.UTC, "2026-11-09"}, // still Sunday in UTC
	} {
		s := NewService(nil, nil, nil, nil, nil, Options{Location: tc.loc, Now: func() time.Time { return tc.now }})
		if got := s.lastWeek().Format(dateLayout); got != tc.want {
			t.Errorf("now %s in %s: week %s, want %s", tc.now, tc.loc, got, tc.want)
		}
	}
}

// TestWeekCounts: seatings count on their weekday in the time zone.
func TestWeekCounts(t *testing.T) {
	var w weekCounts
	for _, d := range []time.Time{
		time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC), // Monday
		time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), // Sunday
		time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC),  // Sunday
	} {
		w.add(d)
	}
	days := w.days()
	if w.total() != 3 || days[0] != (dayCount{"Monday", 1}) || days[6] != (dayCount{"Sunday", 2}) || days[3].Count != 0 {
		t.Errorf("counts %+v", days)
	}
}
