package vch

import "time"

// Defaults of the flags, as VIC had them.
const (
	DefaultName               = "virtual-container-host"
	DefaultTimeout            = 3 * time.Minute
	DefaultBridgeNetworkRange = "172.16.0.0/12"
	DefaultEndpointMemoryMB   = 2048
	DefaultEndpointCPUs       = 1
	DefaultBaseImageSize      = "8GB"
	DefaultBackend            = "vsphere"
)

// Backends lists the --backend values: the production vSphere backend, and the simulator backend for a
// target that is govmomi's vCenter simulator (vcsim reports itself as "VMware vCenter Server", so the
// administrator says which).
var Backends = []string{"vsphere", "vcsim"}

// The options are vice-machine's flags as Go values; error messages name them by their flags.

// CommonOptions are the flags every command that talks to vSphere has.
type CommonOptions struct {
	Target     string // --target: user:password@host/datacenter or https://host/sdk
	User       string
	Password   string
	Thumbprint string
	// Name and ID pick the VCH (ID, the endpoint VM's moref value, wins); create uses Name only.
	Name            string
	ID              string
	ComputeResource string
	// Timeout bounds the operation (DefaultTimeout when zero).
	Timeout time.Duration
	// Debug, with create, runs the VCH in debug mode.
	Debug bool
}

// TLSOptions choose the VCH's TLS mode and certificates.
type TLSOptions struct {
	NoTLS       bool
	NoTLSVerify bool
	CNames      []string // --tls-cname: extra names of the server certificate
	CertPath    string   // --tls-cert-path: the certificate folder (default ./<name>)
}

// CreateOptions are create's flags.
type CreateOptions struct {
	CommonOptions
	TLSOptions

	ImageStore         string
	VolumeStores       []string // datastore/path:label
	BridgeNetwork      string
	BridgeNetworkRange string
	PublicNetwork      string
	ClientNetwork      string
	ManagementNetwork  string
	ContainerNetworks  []string // portgroup:alias
	ContainerNetworkSettings
	DNS []string
	// MemoryMB and CPUMHz limit the VCH pool; 0 is unlimited.
	MemoryMB           int64
	CPUMHz             int64
	EndpointMemoryMB   int64
	EndpointCPUs       int
	InsecureRegistries []string
	// RegistryMirrors, WhitelistRegistries and RegistryCAFiles (PEM files) are the registry settings
	// (registry.go).
	RegistryMirrors     []string
	WhitelistRegistries []string
	RegistryCAFiles     []string
	BaseImageSize       string
	ApplianceISO        string
	BootstrapISO        string
	Backend             string
	// UseRP makes a resource pool instead of a vApp on vCenter.
	UseRP bool
}

// DeleteOptions are delete's flags.
type DeleteOptions struct {
	CommonOptions
	// Force powers off and deletes running containerVMs.
	Force bool
}

// UpgradeOptions are upgrade's flags (Rollback uses CommonOptions and CertPath).
type UpgradeOptions struct {
	CommonOptions
	ApplianceISO string
	BootstrapISO string
	CertPath     string
	// Force installs the ISOs' version even when the VCH has it already, or a newer one.
	Force bool
}

// ConfigureOptions are configure's flags; nil or empty means "leave as it is".
type ConfigureOptions struct {
	CommonOptions
	CPUMHz            *int64
	MemoryMB          *int64
	DNS               []string
	VolumeStores      []string
	ContainerNetworks []string
	ContainerNetworkSettings
	// The registry settings, each replacing the current ones when given.
	InsecureRegistries  []string
	RegistryMirrors     []string
	WhitelistRegistries []string
	RegistryCAFiles     []string
	// CertPath is a folder with the certificates to install (or the one to sign new ones with).
	CertPath string
	// RegenerateCerts makes a new CA, server and client certificate in the certificate folder.
	RegenerateCerts bool
	CNames          []string
}

// DebugOptions are debug's flags.
type DebugOptions struct {
	CommonOptions
	EnableSSH  bool
	DisableSSH bool
	// AuthorizedKeys are the public keys (authorized_keys lines) that may log in as root.
	AuthorizedKeys []string
}

// FirewallOptions are update firewall's flags.
type FirewallOptions struct {
	CommonOptions
	Allow bool
	Deny  bool
}

// InspectOptions are inspect's flags.
type InspectOptions struct {
	CommonOptions
	CertPath string // the VCH's certificate folder (default ./<name>)
}
