// Command vice-plugin-vsphere is the vsphere backend plugin: it serves the port layer for a VCH on vCenter
// Server or ESXi, reached with --target.
package main

import (
	"context"
	"flag"
	"os"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/vsphere"
)

func main() {
	target := flag.String("target", sdk.TakeTarget(), "SDK URL with credentials: https://user:pass@host/sdk (required) (default: $"+sdk.TargetEnv+")")
	thumbprint := flag.String("thumbprint", "", "the target certificate's thumbprint, when it is not signed by a trusted authority")
	insecure := flag.Bool("insecure", false, "do not verify the target's certificate")
	name := flag.String("name", vsphere.DefaultVCHName, "the VCH's name (its resource pool and datastore folder)")
	pool := flag.String("pool", "", "inventory path of the VCH's existing pool or vApp (default: the pool named --name, created when missing)")
	datacenter := flag.String("datacenter", "", "datacenter name or path (default: the only one)")
	computeResource := flag.String("compute-resource", "", "compute resource name or path (default: the only one)")
	datastore := flag.String("datastore", "", "image store datastore (default: the first one)")
	cpuLimit := flag.Int64("cpu-limit-mhz", 0, "CPU limit of the VCH pool when it is created (0: unlimited)")
	memLimit := flag.Int64("memory-limit-mb", 0, "memory limit of the VCH pool when it is created (0: unlimited)")
	bootstrapISO := flag.String("bootstrap-iso", "", "local bootstrap.iso to place at [datastore] <name>/bootstrap.iso when the copy there differs")
	attachListen := flag.String("attach-listen", "127.0.0.1:2377", "address accepting the containerVMs' serial lines")
	attachAdvertise := flag.String("attach-advertise", "", "host:port the containerVMs dial (default: the --attach-listen address)")
	var stores vsphere.VolumeStoreFlags
	flag.Var(&stores, "volume-store", "a volume store, [datastore] path:label or ds://datastore/path:label (repeatable; \"default\" is where volumes go unless told)")
	endpointVM := flag.String("endpoint-vm", os.Getenv(vchwire.EndpointVMEnv), "the VM this plugin runs in, by BIOS UUID or inventory path, which layer disks are attached to while they are written (default: $"+vchwire.EndpointVMEnv+", else this machine's BIOS UUID)")
	blockDisks := flag.Bool("block-disks", os.Getenv(vchwire.BlockDisksEnv) == "1", "write layer disks through the endpoint VM even on a datastore whose files are local (the emulator's block-disk mode; default: $"+vchwire.BlockDisksEnv+"=1)")
	debug := flag.Bool("debug", false, "log at debug level")
	networks := vsphere.NetworkFlags(flag.CommandLine, "", os.Getenv)
	flag.Parse()

	logger := sdk.NewLogger(*debug)
	netCfg, err := networks()
	if err != nil {
		logger.Error("network configuration", "err", err)
		os.Exit(2)
	}
	if *target == "" {
		logger.Error("--target is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	b, err := vsphere.New(ctx, vsphere.Config{
		URL: *target, Insecure: *insecure, Thumbprint: *thumbprint, BackendName: "vsphere",
		Datacenter: *datacenter, ComputeResource: *computeResource, Datastore: *datastore,
		VCHName: *name, Pool: *pool, CPULimitMHz: *cpuLimit, MemoryLimitMB: *memLimit, Logger: logger,
		BootstrapISO: *bootstrapISO, AttachListen: *attachListen, AttachAdvertise: *attachAdvertise,
		VolumeStores: stores,
		Networks:     netCfg,
		EndpointVM:   *endpointVM, BlockDisks: *blockDisks,
	})
	cancel()
	if err != nil {
		logger.Error("connect the backend", "err", err)
		os.Exit(1)
	}
	sdk.Serve(b, sdk.WithLogger(logger), sdk.WithStop(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			logger.Warn("log out of vSphere", "err", err)
		}
	}))
}
