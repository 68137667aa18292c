package main

import (
	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/platform/app"
)

// apps is the registry of every app of the binary.
func apps() (*app.Registry, error) {
	return app.NewRegistry(all.Apps()...)
}
