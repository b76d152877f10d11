// Command vice-plugin-vcsim is the vcsim backend plugin: the vsphere backend's code serving the port layer
// against a vCenter simulator, either one given with --target or one embedded in the plugin process.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/pprofenv"
	"github.com/vice-engine/vice/plugins/vcsim"
	"github.com/vice-engine/vice/plugins/vsphere"
)

func main() {
	pprofenv.Serve("VICE_PLUGIN_PPROF_ADDR") // the plugin inherits the endpoint's environment
	target := flag.String("target", sdk.TakeTarget(), "SDK URL of a running simulator (https://user:pass@host/sdk); empty starts an embedded one (default: $"+sdk.TargetEnv+")")
	thumbprint := flag.String("thumbprint", "", "pin the target certificate's thumbprint (default: accept the simulator's certificate)")
	name := flag.String("name", vsphere.DefaultVCHName, "the VCH's name (its resource pool and datastore folder)")
	pool := flag.String("pool", "", "inventory path of the VCH's existing pool or vApp (default: the pool named --name, created when missing)")
	datacenter := flag.String("datacenter", "", "datacenter name or path (default: the only one)")
	computeResource := flag.String("compute-resource", "", "compute resource name or path (default: the only one)")
	datastore := flag.String("datastore", "", "image store datastore (default: the first one)")
	cpuLimit := flag.Int64("cpu-limit-mhz", 0, "CPU limit of the VCH pool when it is created (0: unlimited)")
	memLimit := flag.Int64("memory-limit-mb", 0, "memory limit of the VCH pool when it is created (0: unlimited)")
	bootstrapISO := flag.String("bootstrap-iso", "", "local bootstrap.iso to place at [datastore] <name>/bootstrap.iso when the copy there differs")
	// The emulator dials whatever a VM's serial port names, so a free port does here and keeps several
	// simulated VCHs on one machine from colliding.
	attachListen := flag.String("attach-listen", vsphere.DefaultAttachListen, "address accepting the containerVMs' serial lines")
	attachAdvertise := flag.String("attach-advertise", "", "host:port the containerVMs dial (default: the --attach-listen address)")
	var stores vsphere.VolumeStoreFlags
	flag.Var(&stores, "volume-store", "a volume store, [datastore] path:label or ds://datastore/path:label (repeatable; \"default\" is where volumes go unless told)")
	endpointVM := flag.String("endpoint-vm", os.Getenv(vchwire.EndpointVMEnv), "the VM this plugin runs in, by BIOS UUID or inventory path, which layer disks are attached to while they are written (default: $"+vchwire.EndpointVMEnv+", else this machine's BIOS UUID)")
	blockDisks := flag.Bool("block-disks", os.Getenv(vchwire.BlockDisksEnv) == "1", "write layer disks through the endpoint VM even on a datastore whose files are local (the emulator's block-disk mode; default: $"+vchwire.BlockDisksEnv+"=1)")
	debug := flag.Bool("debug", false, "log at debug level")
	networks := vsphere.NetworkFlags(flag.CommandLine, vcsim.BridgeNetwork, os.Getenv)
	flag.Parse()

	logger := sdk.NewLogger(*debug)
	netCfg, err := networks()
	if err != nil {
		logger.Error("network configuration", "err", err)
		os.Exit(2)
	}
	// The simulator logs through the standard logger; keep its lines in the plugin's log stream.
	log.SetFlags(0)
	log.SetOutput(stdLogWriter{logger})

	cleanup := func() {}
	url := *target
	if url == "" {
		dir, err := os.MkdirTemp("", "vice-vcsim-datastore-")
		if err != nil {
			fail(logger, "temporary datastore directory", err)
		}
		inf, err := vcsim.Start(context.Background(), vcsim.Options{DatastoreDir: dir, Logger: logger})
		if err != nil {
			os.RemoveAll(dir)
			fail(logger, "start the embedded simulator", err)
		}
		cleanup = func() {
			inf.Close()
			os.RemoveAll(dir) // the embedded simulator's datastore lives only as long as the plugin
		}
		url = inf.URL().String()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	b, err := vsphere.New(ctx, vsphere.Config{
		URL: url, Insecure: *thumbprint == "", Thumbprint: *thumbprint, BackendName: "vcsim", Pool: *pool,
		Datacenter: *datacenter, ComputeResource: *computeResource, Datastore: *datastore,
		VCHName: *name, CPULimitMHz: *cpuLimit, MemoryLimitMB: *memLimit, Logger: logger,
		BootstrapISO: *bootstrapISO, AttachListen: *attachListen, AttachAdvertise: *attachAdvertise,
		// The emulator runs the guests on this machine, so its paths can be bound into them.
		VolumeStores: stores, HostBinds: true,
		Networks:   netCfg,
		EndpointVM: *endpointVM, BlockDisks: *blockDisks,
	})
	cancel()
	if err != nil {
		cleanup()
		fail(logger, "connect the backend", err)
	}

	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			logger.Warn("log out of vSphere", "err", err)
		}
		cleanup()
	}
	sdk.Serve(b, sdk.WithLogger(logger), sdk.WithStop(stop))
}

func fail(logger *slog.Logger, what string, err error) {
	logger.Error(what, "err", err)
	os.Exit(1)
}

// stdLogWriter turns standard-logger lines into debug records.
type stdLogWriter struct{ l *slog.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)), "source", "simulator")
	return len(p), nil
}
