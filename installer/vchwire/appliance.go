package vchwire

import "time"

// The guestinfo namespace the endpoint VM's keys live in. These are the same prefixes as tether/wire's, one
// dot for what the installer writes (extraConfig, before or while the VM runs), two dots for what the guest
// writes, so a VM's keys read alike whichever guest it runs. The strings are part of every deployed VCH:
// changing them orphans existing endpoints.
const (
	ConfigPrefix = "guestinfo.vice./"
	GuestPrefix  = "guestinfo.vice../"
)

// The endpoint VM (the VCH appliance) boots appliance.iso the way a containerVM boots bootstrap.iso. Its init
// (the ISO's /init) reads ApplianceConfig from guestinfo, starts vice-engine with the backend plugins the
// installer registered, and reports ApplianceStatus back. vice-machine writes the config keys (extraConfig)
// and reads the status key; the hypervisor emulator boots the init like any other guest.
const (
	// ApplianceISO is the endpoint VM's CD-ROM image; a VM with it is booted as an appliance.
	ApplianceISO = "appliance.iso"
	// ApplianceInit is the path of the init inside appliance.iso.
	ApplianceInit = "init"
	// ApplianceLog is the file of the endpoint VM's file-backed serial port: the init's console (its
	// stdout and stderr). Under the emulator the init has the containerVMs' descriptors (tether/wire's FD*),
	// with FDSerial and FDOutputLog on /dev/null, FDDebugLog on this file and FDGuestInfo the guestinfo socket.
	ApplianceLog = "appliance.log"

	// KeyAppliance holds the JSON ApplianceConfig; its presence marks a VM as a VCH endpoint.
	KeyAppliance = ConfigPrefix + "appliance"
	// KeyApplianceTLS holds the JSON ApplianceTLS. The installer writes it once the endpoint has reported its
	// address (the server certificate names that address), and again to replace the certificates.
	KeyApplianceTLS = ConfigPrefix + "appliance.tls"
	// KeyApplianceDebug holds the JSON ApplianceDebug (vice-machine debug); read while the appliance runs.
	KeyApplianceDebug = ConfigPrefix + "appliance.debug"
	// KeyApplianceStatus holds the JSON ApplianceStatus, written by the appliance's init.
	KeyApplianceStatus = GuestPrefix + "appliance"

	// KeyVCHVersion, KeyVCHPrevious: the installed version and, after an upgrade, the one a rollback returns to.
	KeyVCHVersion  = ConfigPrefix + "vch.version"
	KeyVCHPrevious = ConfigPrefix + "vch.previous"

	// GuestIPEnv, under the emulator, is the address the emulated network gives the appliance (its "DHCP
	// lease"): a loopback address of its own, so several endpoints on one host each have 2376, 2377, 2378.
	GuestIPEnv = "VICE_GUEST_IP"
	// ApplianceRootEnv, under the emulator, names the directory holding appliance.iso's files (read-only).
	ApplianceRootEnv = "VICE_APPLIANCE_ROOT"
	// NICNamespaceEnv, under the emulator, is the path of the network namespace that holds the endpoint VM's
	// vNICs (on the bridge network and the other port groups it has NICs on): the appliance itself runs in the
	// host's namespace, where its address (GuestIPEnv) is, and its processes open their sockets on those
	// networks in that namespace. In a real VM the vNICs are the appliance's own, and this is unset.
	NICNamespaceEnv = "VICE_NIC_NETNS"
	// ApplianceStateEnv, under the emulator, names a scratch directory for this boot (the appliance's tmpfs);
	// the emulator removes it when the guest ends.
	ApplianceStateEnv = "VICE_APPLIANCE_STATE"

	// EndpointVMEnv names the VM the backend runs in (its BIOS UUID, or an inventory path), so it can attach
	// disks to itself. In a VM the backend reads its BIOS UUID itself; the emulator, which has no SMBIOS to
	// give, sets this for the appliances it boots, and a test whose endpoint runs on the host sets it for the
	// VM that stands for that host.
	EndpointVMEnv = "VICE_ENDPOINT_VM"
	// BlockDisksEnv, set to "1", has the backend write layer disks by attaching them to the endpoint VM even
	// when the datastore's files are on its own machine (the simulator), and the emulator give hot-added
	// disks to that VM as block devices (its block-disk mode). The emulator passes it on to its appliances.
	BlockDisksEnv = "VICE_BLOCK_DISKS"

	// The appliance's ports, as VIC had them.
	PortDockerTLS   = 2376
	PortDockerPlain = 2375
	PortAttach      = 2377 // the containerVMs' serial lines
	PortAdmin       = 2378 // the admin portal (vicadmin)
	PortSSH         = 22   // vice-machine debug
)

// ApplianceConfig is everything the endpoint needs to serve the VCH. Its one secret, the target's password,
// is sealed to the endpoint's key (secrets.go): extraConfig is readable by anyone who may read the VM.
type ApplianceConfig struct {
	Name    string `json:"name"`
	Version string `json:"version"` // the build of appliance.iso this config was written for

	// Target is the SDK URL with the user and never the password (https://user@host/sdk); TargetPassword
	// is the password, sealed for SecretTargetPassword (OpenTarget joins them). Thumbprint pins the
	// target's certificate.
	Target          string `json:"target"`
	TargetPassword  Sealed `json:"targetPassword,omitempty"`
	Thumbprint      string `json:"thumbprint,omitempty"`
	Datacenter      string `json:"datacenter,omitempty"`      // inventory path
	ComputeResource string `json:"computeResource,omitempty"` // inventory path
	Pool            string `json:"pool"`                      // the VCH's pool or vApp, inventory path
	ImageStore      string `json:"imageStore"`                // datastore name

	// VolumeStores maps a label to a datastore URL, "ds://datastore1/path".
	VolumeStores map[string]string `json:"volumeStores,omitempty"`
	// Networks: the port groups the endpoint's NICs and the containers use.
	BridgeNetwork      string             `json:"bridgeNetwork,omitempty"`
	BridgeNetworkRange string             `json:"bridgeNetworkRange,omitempty"`
	PublicNetwork      string             `json:"publicNetwork,omitempty"`
	ClientNetwork      string             `json:"clientNetwork,omitempty"`
	ManagementNetwork  string             `json:"managementNetwork,omitempty"`
	ContainerNetworks  []ContainerNetwork `json:"containerNetworks,omitempty"`
	DNS                []string           `json:"dns,omitempty"`
	InsecureRegistries []string           `json:"insecureRegistries,omitempty"`
	// Registry configuration: the mirrors Docker Hub names are pulled through, the only registries that may
	// be reached (VIC's whitelist; none is all), and CA certificates (PEM) registries may be signed by.
	RegistryMirrors     []string `json:"registryMirrors,omitempty"`
	WhitelistRegistries []string `json:"whitelistRegistries,omitempty"`
	RegistryCAs         string   `json:"registryCAs,omitempty"`

	// TLS is the mode: TLSVerify, TLSServer or TLSOff.
	TLS   string `json:"tls"`
	Debug bool   `json:"debug,omitempty"`

	// Backend names the plugin vice-engine serves from; Plugins are the registered plugins, each a binary
	// of appliance.iso with its checksum.
	Backend string         `json:"backend"`
	Plugins []PluginRecord `json:"plugins"`
}

// TLS modes of ApplianceConfig.TLS.
const (
	TLSVerify = "verify" // client certificates required, port 2376
	TLSServer = "server" // TLS without client verification, port 2376
	TLSOff    = "off"    // plain HTTP, port 2375
)

// ContainerNetwork maps a vSphere port group to the name containers see it by (--container-network), with
// what its containers' NICs are configured with: the network's gateway with its subnet's length
// (--container-network-gateway, "10.3.0.1/16"), the range the VCH gives addresses from (a CIDR,
// --container-network-ip-range), name servers (--container-network-dns) and the firewall's trust level
// (--container-network-firewall: closed, outbound, peers, published or open).
type ContainerNetwork struct {
	PortGroup string   `json:"portGroup"`
	Alias     string   `json:"alias"`
	Gateway   string   `json:"gateway,omitempty"`
	IPRange   string   `json:"ipRange,omitempty"`
	DNS       []string `json:"dns,omitempty"`
	Firewall  string   `json:"firewall,omitempty"`
}

// PluginRecord registers one backend plugin: File is the path inside appliance.iso, SHA256 its checksum.
// The init writes the plugin manifest, adding the arguments that depend on the running appliance.
type PluginRecord struct {
	Name   string   `json:"name"`
	File   string   `json:"file"`
	SHA256 string   `json:"sha256"`
	Args   []string `json:"args,omitempty"` // extra arguments after the ones the init derives from the config
}

// ApplianceTLS is the endpoint's certificate material, PEM-encoded; the server key is sealed for
// SecretServerKey to the endpoint's key.
type ApplianceTLS struct {
	CACert     string `json:"caCert,omitempty"` // verifies client certificates; empty unless TLS is "verify"
	ServerCert string `json:"serverCert"`
	ServerKey  Sealed `json:"serverKey"`
}

// ApplianceDebug enables SSH access to the endpoint for the given public keys (authorized_keys lines).
type ApplianceDebug struct {
	SSH            bool     `json:"ssh"`
	AuthorizedKeys []string `json:"authorizedKeys,omitempty"`
}

// Appliance states written in ApplianceStatus.State.
const (
	ApplianceBooting    = "booting"     // the init runs; no valid config or no address yet (Error says which)
	ApplianceStarting   = "starting"    // services starting
	ApplianceRunning    = "running"     // vice-engine answers on DockerHost
	ApplianceFailed     = "failed"      // see Error and the services
	ApplianceWaitingTLS = "waiting-tls" // the address is reported; the installer has not written KeyApplianceTLS yet
	ApplianceStopped    = "stopped"     // the init stopped its services: the appliance is shutting down
)

// ApplianceStatus is what the endpoint reports, rewritten on every change.
type ApplianceStatus struct {
	State       string          `json:"state"`
	Version     string          `json:"version"`
	IP          string          `json:"ip,omitempty"`
	DockerHost  string          `json:"dockerHost,omitempty"`  // tcp://ip:2376
	AdminPortal string          `json:"adminPortal,omitempty"` // https://ip:2378
	Services    []ServiceStatus `json:"services,omitempty"`
	Error       string          `json:"error,omitempty"`
	Updated     time.Time       `json:"updated"`
}

// ServiceStatus is one process the appliance runs: vice-engine, each plugin, the admin portal, sshd.
type ServiceStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"` // "running", "restarting", "failed", "stopped"
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts,omitempty"`
	Error    string `json:"error,omitempty"`
}
