// Command vice-iso builds bootstrap.iso from a static tether binary (make bootstrap-iso runs it).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vice-engine/vice/installer/iso"
)

func main() {
	tether := flag.String("tether", "bin/tether", "the static tether binary")
	out := flag.String("o", "bin/bootstrap.iso", "where to write the image")
	version := flag.String("version", "dev", "contents of /VERSION")
	flag.Parse()
	if err := iso.BuildBootstrap(context.Background(), *tether, *out, iso.WithVersion(*version)); err != nil {
		fmt.Fprintln(os.Stderr, "vice-iso:", err)
		os.Exit(1)
	}
}
