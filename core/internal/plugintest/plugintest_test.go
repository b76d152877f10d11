package plugintest_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk"
)

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

// runSleeper starts a busybox container that runs until killed, and returns its ID.
func runSleeper(t *testing.T, p *plugintest.Plugin, name string) string {
	t.Helper()
	e := engine.New(portlayer.New(plugintest.Name, p.Transport), engine.WithLogger(slog.New(slog.DiscardHandler)))
	if _, err := e.Images().Import(t.Context(), images.ImportOptions{Source: plugintest.Busybox(t), Repo: "busybox"}); err != nil {
		t.Fatal(err)
	}
	created, err := e.Containers().Create(t.Context(), name, container.CreateRequest{
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "300"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Containers().Start(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return created.ID
}

// TestResetStopsGuests: the shared plugin's guests are real processes, and the reset after a test removes
// its containers and stops their guests.
func TestResetStopsGuests(t *testing.T) {
	var p *plugintest.Plugin
	t.Run("run", func(t *testing.T) {
		p = plugintest.Shared(t)
		runSleeper(t, p, "sleeper")
		if g := p.Guests(); len(g) != 1 {
			t.Fatalf("guests %v, want the sleeper's", g)
		}
	})
	if g := p.Guests(); len(g) != 0 {
		t.Errorf("guests %v left after the reset", g)
	}
	ctrs, err := p.Client().ListContainers(t.Context(), sdk.ListFilter{})
	if err != nil || len(ctrs) != 0 {
		t.Errorf("containers after the reset: %d, %v", len(ctrs), err)
	}
}

// TestStopAfterPluginCrash: a plugin killed outright leaves its guests running (they belong to the
// hypervisor, not to the process that booted them); Stop kills them, says so, and removes every directory.
func TestStopAfterPluginCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	p, err := plugintest.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			p.Stop()
		}
	}()
	runSleeper(t, p, "orphan")
	guests := p.Guests()
	if len(guests) != 1 {
		t.Fatalf("guests %v, want the orphan's", guests)
	}
	dir := p.Dir()
	if err := syscall.Kill(p.Host.Status()[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = p.Stop()
	stopped = true
	if err == nil || !strings.Contains(err.Error(), "left guests") {
		t.Errorf("Stop after a crash = %v, want it to report the guests it killed", err)
	}
	for _, pid := range guests {
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(stat), ") Z ") {
			t.Errorf("guest %d still runs", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
}
