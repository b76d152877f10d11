// Package vsphere is the govmomi backend: it serves a Virtual Container Host on vCenter Server or ESXi. The
// VCH is a resource pool under the chosen compute resource; its records live as files on the image-store
// datastore; everything it reports comes from live vSphere calls. The same code runs against vcsim (the
// vcsim backend), so the simulator exercises the production paths.
//
// Every vSphere fault becomes an errdefs class in one place, faults.go.
package vsphere
