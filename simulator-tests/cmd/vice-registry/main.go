// Command vice-registry serves the test images (busybox and friends, built from Debian's busybox-static) from
// a registry on a loopback address, so that `make run` and the demos can pull offline; busybox is also there as
// library/busybox, so that the registry serves as a Docker Hub mirror.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5000", "address to serve on")
	auth := flag.String("auth", "", "require these credentials, as user:password")
	big := flag.Bool("big", false, "also push big:latest (about 256 MB in 5 layers)")
	flag.Parse()

	var opts []fixtures.RegistryOption
	if *auth != "" {
		user, pass, ok := strings.Cut(*auth, ":")
		if !ok {
			fmt.Fprintln(os.Stderr, "vice-registry: --auth wants user:password")
			os.Exit(2)
		}
		opts = append(opts, fixtures.WithBasicAuth(user, pass))
	}
	reg, err := fixtures.StartRegistry(*listen, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vice-registry:", err)
		os.Exit(1)
	}
	defer reg.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := reg.Seed(ctx, *big); err != nil {
		fmt.Fprintln(os.Stderr, "vice-registry: seed:", err)
		os.Exit(1)
	}
	// busybox also under Docker Hub's own name for it, as a pull-through mirror holds it, so that a VCH made
	// with --registry-mirror pointing here pulls the bare name "busybox".
	if err := pushHubBusybox(ctx, reg); err != nil {
		fmt.Fprintln(os.Stderr, "vice-registry: seed library/busybox:", err)
		os.Exit(1)
	}
	fmt.Printf("REGISTRY=%s\n", reg.Addr)
	<-ctx.Done()
}

func pushHubBusybox(ctx context.Context, reg *fixtures.Registry) error {
	bb, err := fixtures.BusyboxImage()
	if err != nil {
		return err
	}
	return reg.Push(ctx, "library/busybox:latest", bb)
}
