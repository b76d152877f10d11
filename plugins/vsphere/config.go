package vsphere

import (
	"fmt"
	"log/slog"
	"net/url"

	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Defaults for Config.
const (
	DefaultVCHName     = "virtual-container-host"
	DefaultBackendName = "vsphere"
)

// Config says which vSphere target to use and where the VCH lives in it.
type Config struct {
	// URL is the SDK endpoint with credentials: https://user:pass@host/sdk (scheme and path default).
	URL string
	// Insecure skips verification of the target's certificate.
	Insecure bool
	// Thumbprint pins the target's certificate (SHA-1 or SHA-256, colon-separated hex) when it is not
	// signed by a trusted authority.
	Thumbprint string
	// Datacenter, ComputeResource: names or inventory paths; each may be empty when the target has one.
	Datacenter      string
	ComputeResource string
	// Datastore is the image store's datastore; empty means the first one the compute resource can use.
	Datastore string
	// VCHName names the VCH's resource pool and its folder on the datastore.
	VCHName string
	// Pool is the inventory path of the VCH's existing pool or vApp (made by vice-machine). Empty means the
	// pool named VCHName under the compute resource, created when missing.
	Pool string
	// BackendName is what Name reports: "vsphere" or "vcsim".
	BackendName string
	// CPULimitMHz and MemoryLimitMB cap the VCH's pool when New creates it; 0 means unlimited. An existing
	// pool keeps its own limits, since an administrator may have changed them.
	CPULimitMHz   int64
	MemoryLimitMB int64
	// Logger receives the backend's logs; nil means slog.Default().
	Logger *slog.Logger

	// BootstrapISO is a local bootstrap.iso (the tether's boot image) that New places at
	// "[datastore] <vch>/bootstrap.iso" when the copy there differs; empty leaves the datastore as it is.
	BootstrapISO string
	// AttachListen is where the VCH accepts the containerVMs' serial lines (DESIGN §5); empty means
	// DefaultAttachListen.
	AttachListen string
	// AttachAdvertise is the host:port new containerVMs' serial ports dial; empty means the listener's actual
	// address, with an unspecified IP replaced by the loopback one.
	AttachAdvertise string

	// VolumeStores are the VCH's volume stores (vice-machine --volume-store); docker volumes go to the one
	// labelled "default" unless told otherwise.
	VolumeStores []vchwire.VolumeStore
	// HostBinds serves bind mounts of this machine's paths: the guests run on it (the vcsim emulator). On
	// vSphere a bind mount is refused.
	HostBinds bool
	// Networks is the VCH's network configuration.
	Networks NetworkConfig
	// EndpointVM is the VM this backend runs in, by BIOS UUID or inventory path: layer disks are written by
	// attaching them to it. Empty means the VM whose BIOS UUID this machine reports (SMBIOS).
	EndpointVM string
	// BlockDisks writes layer disks by attaching them to the endpoint VM even on a datastore whose files are
	// on this machine, where they would otherwise be directories (the simulator's block-disk mode). On a real
	// datastore disks are always written that way.
	BlockDisks bool
}

// DefaultAttachListen is the library's attach address: a free loopback port, so that several backends in one
// machine (tests, the simulator) never collide. The vsphere plugin's flag defaults to VIC's port, 2377.
const DefaultAttachListen = "127.0.0.1:0"

// withDefaults returns a copy of c with defaults filled in and the URL parsed, or an ErrInvalid error.
func (c Config) withDefaults() (Config, *url.URL, error) {
	if c.VCHName == "" {
		c.VCHName = DefaultVCHName
	}
	if c.BackendName == "" {
		c.BackendName = DefaultBackendName
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AttachListen == "" {
		c.AttachListen = DefaultAttachListen
	}
	var err error
	if c.Networks, err = c.Networks.withDefaults(); err != nil {
		return c, nil, err
	}
	if c.CPULimitMHz < 0 || c.MemoryLimitMB < 0 {
		return c, nil, fmt.Errorf("negative resource limit: %w", errdefs.ErrInvalid)
	}
	if c.URL == "" {
		return c, nil, fmt.Errorf("vSphere target URL is empty: %w", errdefs.ErrInvalid)
	}
	u, err := soap.ParseURL(c.URL)
	if err != nil {
		return c, nil, fmt.Errorf("vSphere target URL: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	if u.User == nil || u.User.Username() == "" {
		return c, nil, fmt.Errorf("vSphere target URL %s has no user: %w", redact(u), errdefs.ErrInvalid)
	}
	return c, u, nil
}

// redact is u without its password, for logs and Info.
func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}
