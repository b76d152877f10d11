// Command vice-vcsim runs the simulated vSphere infrastructure of the vcsim backend as a daemon: a vCenter
// with one cluster, the datastore "datastore1" kept in --datastore-dir, and the networks a VCH needs.
// When it is ready it prints VCSIM_URL=... and VCSIM_THUMBPRINT=... on stdout; it runs until SIGINT or
// SIGTERM. Its hypervisor emulator boots the guests of containerVMs (as root); stopping the daemon stops them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk/pprofenv"
	"github.com/vice-engine/vice/plugins/vcsim"
)

// passwordEnv names the environment variable that may hold --password, kept out of the process list.
const passwordEnv = "VICE_VCSIM_PASSWORD"

func main() {
	pprofenv.Serve("VICE_PPROF_ADDR")
	listen := flag.String("listen", "127.0.0.1:8989", "HTTPS address to serve the simulated vCenter on")
	dir := flag.String("datastore-dir", "/var/lib/vice/vcsim/datastore1", "directory holding the files of datastore1 (kept across restarts)")
	debug := flag.Bool("debug", false, "log at debug level, including the simulator's own messages")
	urlFile := flag.String("url-file", "", "write the SDK URL (with credentials) to this file once ready")
	noEmulator := flag.Bool("no-emulator", false, "do not boot containerVMs' guests (the hypervisor emulator needs root)")
	runDir := flag.String("run-dir", "", "directory for the emulator's per-guest state (default: a new temporary directory)")
	password := flag.String("password", "", "the password the simulator accepts (default: $"+passwordEnv+", else "+vcsim.DefaultPass+")")
	blockDisks := flag.Bool("block-disks", os.Getenv(vchwire.BlockDisksEnv) == "1", "block-disk mode: real disk images, hot-added to running VMs as block devices (needs qemu-storage-daemon; default: $"+vchwire.BlockDisksEnv+"=1)")
	flag.Parse()
	if *password == "" {
		*password = os.Getenv(passwordEnv)
	}

	level := slog.LevelWarn // quiet by default: stdout carries the URL, stderr only problems
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The simulator logs through the standard logger; route it through slog so --debug governs it too.
	log.SetFlags(0)
	log.SetOutput(stdLogWriter{logger})

	opts := vcsim.Options{Listen: *listen, DatastoreDir: *dir, Logger: logger, DisableEmulator: *noEmulator,
		RunDir: *runDir, Password: *password, BlockDisks: *blockDisks}
	if err := run(logger, opts, *urlFile); err != nil {
		logger.Error("vice-vcsim failed", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger, opts vcsim.Options, urlFile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	inf, err := vcsim.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer inf.Close()

	u := inf.URL().String()
	if urlFile != "" {
		if err := writeFileAtomic(urlFile, u+"\n"); err != nil {
			return err
		}
		defer os.Remove(urlFile) // a stale URL would send scripts to a dead server
	}
	fmt.Printf("VCSIM_URL=%s\nVCSIM_THUMBPRINT=%s\n", u, inf.Thumbprint())
	logger.Info("ready", "datastoreDir", inf.DatastoreDir())

	<-ctx.Done()
	logger.Info("stopping")
	return nil
}

// writeFileAtomic writes data to name through a temporary file, so a script polling for name never reads
// a partial URL.
func writeFileAtomic(name, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".vice-vcsim-url-*")
	if err != nil {
		return fmt.Errorf("url file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, data); err != nil {
		tmp.Close()
		return fmt.Errorf("url file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("url file: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("url file: %w", err)
	}
	return nil
}

// stdLogWriter turns standard-logger lines into debug records.
type stdLogWriter struct{ l *slog.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)), "source", "simulator")
	return len(p), nil
}
