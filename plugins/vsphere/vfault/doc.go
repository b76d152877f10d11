// Package vfault is the one translation of vSphere's failures into the error classes of plugins/sdk/errdefs:
// the faults a SOAP call or a task returns (found anywhere in the error's tree with govmomi's fault.In, their
// causes included), the finder's and the datastore client's errors, the datastore's HTTP statuses, and
// transport failures. The vsphere backend classifies every vSphere call through it, and vice-machine
// decides with the same classes (a missing file or VM, a refused login, a method the target lacks). It
// imports only govmomi and errdefs; nothing here matches error text.
package vfault
