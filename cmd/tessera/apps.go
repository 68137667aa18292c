package main

import (
	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/app"
)

// apps is the composition root's list of apps, by hand, in mount order.
func apps() (*app.Registry, error) {
	return app.NewRegistry(messaging.App(), restaurants.App(), scheduling.App(), files.App(), records.App())
}
