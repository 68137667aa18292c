// Package faults holds the cluster suite: several node processes on one
// Postgres, one Redis and one blob store, every app's main flow with
// clients spread across the nodes, and the faults a cluster must survive (a
// node killed with SIGKILL under load, Postgres and Redis restarted). It has
// no code outside its tests.
package faults
