package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/guestinfo"
	"github.com/vice-engine/vice/tether/wire"
)

// defaultState is the scratch directory in a VM (a tmpfs); the emulator names one with
// vchwire.ApplianceStateEnv.
const defaultState = "/run/vice"

// Main is the life of the appliance's init: it sets up the machine, runs the appliance until SIGTERM or
// SIGINT, and then exits (under the emulator, which powers the VM off) or powers the VM off.
func Main() {
	os.Exit(run())
}

func run() int {
	emulated := os.Getenv(wire.EmulatorEnv) == "1"
	pid1 := os.Getpid() == 1
	if emulated {
		keepInherited()
	}
	level := new(slog.LevelVar)
	boot := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if pid1 {
		setupPID1(boot, emulated)
	}

	root := os.Getenv(vchwire.ApplianceRootEnv)
	if root == "" { // in a VM: the directory the init was started from, the ISO's root
		exe, err := os.Executable()
		if err != nil {
			boot.Error("find the appliance's files", "err", err)
			return halt(pid1, emulated, 1)
		}
		root = filepath.Dir(exe)
	}
	state := os.Getenv(vchwire.ApplianceStateEnv)
	if state == "" {
		state = defaultState
	}
	logDir := filepath.Join(state, LogDir)
	var out io.Writer = os.Stderr
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		boot.Warn("log directory", "err", err)
	} else if lf, err := OpenLogFile(filepath.Join(logDir, InitLogName), DefaultLogSize); err != nil {
		boot.Warn("init log", "err", err)
	} else {
		defer lf.Close()
		out = io.MultiWriter(os.Stderr, lf)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})).With("component", "appliance")

	gi, err := guestinfo.New()
	if err != nil {
		log.Error("guestinfo", "err", err)
		return halt(pid1, emulated, 1)
	}
	address := vmAddress
	if emulated {
		address = emulatedAddress
	}
	procs := NewProcs(log, pid1)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if pid1 {
		rctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go procs.Reap(rctx)
	}
	err = Run(ctx, Options{GuestInfo: gi, Root: root, State: state, Address: address, Logger: log, Level: level,
		Procs: procs})
	code := 0
	if err != nil && ctx.Err() == nil {
		log.Error("appliance", "err", err)
		code = 1
	}
	return halt(pid1, emulated, code)
}

// halt ends the init: a VM's PID 1 may not exit (the kernel would panic), so it powers the VM off.
func halt(pid1, emulated bool, code int) int {
	if pid1 && !emulated {
		if err := powerOff(); err != nil {
			fmt.Fprintln(os.Stderr, "vice-appliance:", err)
		}
	}
	return code
}
