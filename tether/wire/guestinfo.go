package wire

import "time"

// Guestinfo keys. The endpoint writes keys under ConfigPrefix (extraConfig before power-on); the guest
// writes keys under GuestPrefix at run time (through VMware Tools' guestinfo on vSphere, the emulator's
// socket under vcsim). VIC used the same split: one dot for the endpoint, two for the guest.
const (
	ConfigPrefix = "guestinfo.vice./"
	GuestPrefix  = "guestinfo.vice../"

	// KeyConfig holds the JSON ContainerConfig.
	KeyConfig = ConfigPrefix + "config"
	// KeyID holds the container ID alone, for cheap inventory queries.
	KeyID = ConfigPrefix + "id"
	// KeyStatus holds the JSON GuestStatus, written by the tether.
	KeyStatus = GuestPrefix + "status"
)

// ContainerConfig is what the tether needs to run the container's process. The endpoint resolves the
// image config (entrypoint + cmd, env, user, working dir) before writing it.
type ContainerConfig struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Hostname   string   `json:"hostname"`
	Domainname string   `json:"domainname,omitempty"`
	Path       string   `json:"path"`
	Args       []string `json:"args,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	// User is "name", "uid", "name:group" or "uid:gid", resolved against the image's /etc/passwd and
	// /etc/group; empty is root.
	User      string `json:"user,omitempty"`
	Tty       bool   `json:"tty,omitempty"`
	OpenStdin bool   `json:"openStdin,omitempty"`
	StdinOnce bool   `json:"stdinOnce,omitempty"`
	// ExtraHosts are "name:ip" lines added to /etc/hosts; DNS the resolv.conf nameservers.
	ExtraHosts []string `json:"extraHosts,omitempty"`
	// Networks are the NICs (network.go): the first address is the host name's in /etc/hosts.
	Networks   []NetworkEndpoint `json:"networks,omitempty"`
	DNS        []string          `json:"dns,omitempty"`
	DNSSearch  []string          `json:"dnsSearch,omitempty"`
	DNSOptions []string          `json:"dnsOptions,omitempty"`
	// Boot counts the power-ons of this container, so a status left by an earlier boot is recognisable.
	Boot int `json:"boot,omitempty"`
	// RunBlock holds the process back until the first ChannelAttach is opened, so a client that attaches
	// before start (docker run without -d) sees every byte of output, and a tty gets its size first
	// (VIC's RunBlock). Without it the process starts as soon as the guest is ready.
	RunBlock bool `json:"runBlock,omitempty"`
	// Mounts are the volumes, bind mounts and tmpfs mounts of the container, parents first.
	Mounts []Mount `json:"mounts,omitempty"`
}

// Guest states written in GuestStatus.State.
const (
	StateStarting = "starting"
	StateRunning  = "running"
	StateExited   = "exited"
)

// GuestStatus is the guest's view of the container's process.
type GuestStatus struct {
	State string `json:"state"`
	// Boot echoes ContainerConfig.Boot, so a status left from an earlier boot is recognisable.
	Boot       int       `json:"boot"`
	Pid        int       `json:"pid,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	ExitCode   int       `json:"exitCode"`
	// Error says why the process could not be started (exit codes 126/127 as Docker gives them).
	Error string `json:"error,omitempty"`
}
