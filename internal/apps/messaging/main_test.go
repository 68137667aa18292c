package messaging_test

import (
	"os"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
)

// TestMain lets the test binary run as a node process (the cluster test
// kills one with SIGKILL).
func TestMain(m *testing.M) {
	nodetest.ChildMain(messaging.App())
	os.Exit(m.Run())
}
