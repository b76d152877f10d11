package vsphere

import "github.com/vice-engine/vice/plugins/vsphere/vfault"

// classify wraps err, returned by a vSphere call made to do what, into its errdefs class through
// vfault.Classify, the one translation of vSphere faults; every vSphere call of the backend goes through it.
func classify(err error, what string) error { return vfault.Classify(err, what) }

// httpStatusClass classifies a failed datastore HTTP transfer (vfault.HTTPStatus).
func httpStatusClass(status int) error { return vfault.HTTPStatus(status) }
