package faults_test

import (
	"os"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
)

// TestMain lets the test binary run as a node process of every app
// (nodetest.Spawn).
func TestMain(m *testing.M) {
	nodetest.ChildMain(all.Apps()...)
	os.Exit(m.Run())
}
