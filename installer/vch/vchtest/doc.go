// Package vchtest is what the tests of the installer's provisioning library (installer/vch) and of
// vice-machine (installer/machine) deploy VCHs on: the product's simulated vCenter or govmomi's ESXi
// simulator, a stand-in for the appliance's init that answers through the VM's extraConfig as the real one
// does, containerVMs as the backend makes them, and ISO images. It imports no package of the installer
// but the appliance's contract (installer/vchwire), so the library's own tests can use it.
package vchtest
