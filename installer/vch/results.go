package vch

import (
	"errors"
	"fmt"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Access is how clients reach a VCH: the appliance's last report and the certificates the installer holds
// for it. vice-machine prints it as DOCKER_HOST, the docker command line and the admin portal.
type Access struct {
	Name string
	// Status is nil, or has no IP, while the appliance has not reported its address.
	Status *vchwire.ApplianceStatus
	// TLS is the VCH's mode (vchwire.TLSVerify, TLSServer or TLSOff).
	TLS string
	// CertDir is the certificate folder, an absolute path; empty with TLSOff.
	CertDir string
}

// Reachable reports whether the appliance has reported its address.
func (a Access) Reachable() bool { return a.Status != nil && a.Status.IP != "" }

// DockerAddr is the host:port of the VCH's Docker API. It is empty until the appliance is Reachable.
func (a Access) DockerAddr() string {
	if !a.Reachable() {
		return ""
	}
	return dockerAddr(a.Status, a.TLS)
}

// AdminPortal is the URL of the admin portal. It is empty until the appliance is Reachable.
func (a Access) AdminPortal() string {
	switch {
	case !a.Reachable():
		return ""
	case a.Status.AdminPortal != "":
		return a.Status.AdminPortal
	}
	return fmt.Sprintf("https://%s:%d", a.Status.IP, vchwire.PortAdmin)
}

// CreateResult is what Create made.
type CreateResult struct {
	ID      string // the endpoint VM's moref value, the VCH ID
	Version string // the VCH's version, appliance.iso's
	Access  Access
}

// UpgradeResult is the VCH after Upgrade or Rollback.
type UpgradeResult struct {
	ID string
	// UpToDate: the VCH already had the version, and nothing was done.
	UpToDate bool
	// Version is the VCH's version now; Previous the one a rollback would return to ("" after a rollback).
	Version, Previous string
	Access            Access
}

// ConfigureResult says what Configure did.
type ConfigureResult struct {
	// Restarted: the appliance was restarted with a new configuration (Access is then its new report);
	// false when only the pool's limits changed.
	Restarted bool
	// NewCertificates: the appliance got certificates from the certificate folder.
	NewCertificates bool
	Access          Access
}

// DeleteResult is what Delete left on purpose.
type DeleteResult struct {
	// VolumeStores are kept: label to "ds://datastore/path".
	VolumeStores map[string]string
}

// DebugResult is the endpoint's SSH access after Debug.
type DebugResult struct {
	SSH  bool
	Keys int    // authorized keys
	IP   string // the appliance's address, empty while it has not reported one
}

// Limits are a pool's CPU (MHz) and memory (MB) limits; -1 is unlimited.
type Limits struct {
	CPUMHz, MemoryMB int64
}

// String is "CPU 4000 MHz, memory unlimited".
func (l Limits) String() string {
	return fmt.Sprintf("CPU %s, memory %s", limitText(l.CPUMHz, "MHz"), limitText(l.MemoryMB, "MB"))
}

func limitText(v int64, unit string) string {
	if v < 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d %s", v, unit)
}

// Inspection is a VCH with what inspect shows beside it.
type Inspection struct {
	*VCH
	// Limits are the pool's, nil when they could not be read.
	Limits *Limits
	Access Access
}

// reportedError is an error the operation already wrote to its Progress (with what it undid).
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

// IsReported reports whether err was already written to the operation's Progress, so a caller printing
// the progress need not print it again.
func IsReported(err error) bool {
	var r reportedError
	return errors.As(err, &r)
}
