package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machine is where the runner ran (the nodes too, when local).
type machine struct {
	cpu                   string // the model, from /proc/cpuinfo
	cpus                  int
	memory                string
	kernel                string
	goVersion             string
	loadBefore, loadAfter string // /proc/loadavg's 1, 5 and 15 minute averages
}

// describeMachine reads /proc (Linux; elsewhere the fields say unknown).
func describeMachine() machine {
	return machine{
		cpu:        cpuModel(readProc("/proc/cpuinfo")),
		cpus:       runtime.NumCPU(),
		memory:     memTotal(readProc("/proc/meminfo")),
		kernel:     orUnknown(strings.TrimSpace(readProc("/proc/sys/kernel/osrelease"))),
		goVersion:  runtime.Version(),
		loadBefore: loadAverage(),
	}
}

func readProc(path string) string {
	b, err := os.ReadFile(path) // #nosec G304 -- fixed /proc paths
	if err != nil {
		return ""
	}
	return string(b)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// cpuModel is the first "model name" of a /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	for line := range strings.SplitSeq(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return orUnknown(strings.TrimSpace(v))
		}
	}
	return "unknown"
}

// memTotal is a /proc/meminfo's MemTotal in GiB.
func memTotal(meminfo string) string {
	for line := range strings.SplitSeq(meminfo, "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return "unknown"
}

// loadAverage is /proc/loadavg's three averages, "2.10 / 1.80 / 1.50".
func loadAverage() string {
	f := strings.Fields(readProc("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " / ")
}
