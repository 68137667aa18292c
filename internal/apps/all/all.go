// Package all lists every app of the binary, in mount order: the
// composition root's list, shared by the tessera command and by the tests
// that run whole nodes (the cluster suite, the benchmarks).
package all

import (
	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/app"
)

// Apps returns every app, in mount order.
func Apps() []app.App {
	return []app.App{messaging.App(), restaurants.App(), scheduling.App(), files.App(), records.App()}
}
