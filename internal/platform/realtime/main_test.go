package realtime

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a hub, connection or Redis goroutine outlives
// the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
