package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMainProcess is not a test: TestSIGTERM re-executes the test binary
// with TESSERA_TEST_MAIN=1 to run the real main in a child process.
func TestMainProcess(t *testing.T) {
	if os.Getenv("TESSERA_TEST_MAIN") != "1" {
		t.Skip("runs only as TestSIGTERM's child process")
	}
	args := strings.Split(os.Getenv("TESSERA_TEST_ARGS"), " ")
	os.Exit(run(args, []string{}))
}

// TestSIGTERM runs `tessera serve` as a real process, sends it SIGTERM and
// expects a graceful stop: exit 0, and the shutdown logged.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), "TESSERA_TEST_MAIN=1",
		"TESSERA_TEST_ARGS=serve --addr "+addr+" --data-dir "+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		_ = cmd.Wait()
		done <- cmd.ProcessState.ExitCode()
	}()
	waitHealthy(t, "http://"+addr, done, &stderr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d after SIGTERM: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("no exit within 30s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("shutdown not logged: %s", stderr.String())
	}
}
