// Command app is the container process of the emulator's tests: a static program placed in an image layer.
// "hello" reports what it sees of its root filesystem and exits 3; "sleep" runs until killed.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		fmt.Println("sleeping")
		for {
			time.Sleep(time.Hour)
		}
	}
	top, _ := os.ReadFile("/etc/layer")
	base, _ := os.ReadFile("/etc/base")
	host, _ := os.Hostname()
	fmt.Printf("hello pid=%d layer=%s base=%s host=%s\n", os.Getpid(), top, base, host)
	if err := os.WriteFile("/written", []byte("by the guest"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
	}
	os.Exit(3)
}
