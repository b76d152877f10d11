// Command vice-init is the /init of the initramfs on bootstrap.iso and appliance.iso; see package
// installer/initramfs/init. Build it static (CGO_ENABLED=0): nothing else is in the initramfs.
package main

import vinit "github.com/vice-engine/vice/installer/initramfs/init"

func main() { vinit.Main() }
