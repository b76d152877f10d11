// Command vice-appliance is the init of the VCH endpoint VM: the /init of appliance.iso. See package
// installer/appliance.
package main

import "github.com/vice-engine/vice/installer/appliance"

func main() { appliance.Main() }
