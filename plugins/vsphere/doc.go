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
// Every vSphere fault becomes an errdefs class in one place, the vfault package (faults.go calls it).
package vsphere
