// Package vsphere is the govmomi backend: it serves a Virtual Container Host on vCenter Server or ESXi. The
// VCH is a resource pool under the chosen compute resource; its records live as files on the image-store
// datastore; everything it reports comes from live vSphere calls. The same code runs against vcsim (the
// vcsim backend), so the simulator exercises the production paths.
//
// The image store (layers.go, layerwrite.go) keeps layer disks in "[datastore] VIC/<vch>/images/<id>/<id>.vmdk",
// each a child of its parent's disk, with the chain rooted in an empty scratch disk; layout.go names the
// paths and vmdk.go reads and writes the descriptors that chain them. What is inside a disk is written behind
// the diskData interface: on the simulator a directory in overlayfs's format beside the descriptor.
//
// The networks (scopes*.go, endpoints*.go, network_*.go) are the VCH's: the predefined ones come from its
// configuration, user-defined bridge networks are KV records, and each container's endpoints (a vmxnet3 NIC
// each, its address and names) are in its extraConfig, from which the addresses in use are derived. The
// endpoint VM's side of the bridge network (its gateways, DNS and published ports) is the dataplane package.
//
// Every vSphere fault becomes an errdefs class in one place, the vfault package (faults.go calls it).
package vsphere
