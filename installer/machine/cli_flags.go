package machine

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/vice-engine/vice/installer/vch"
)

// TargetEnv holds the default of --target.
const TargetEnv = "VICE_MACHINE_TARGET"

// besideExecutable is name in the directory of the vice-machine executable, where VIC looked for its ISOs.
func besideExecutable(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return filepath.Join(filepath.Dir(exe), name)
}

func commonFlags(withID bool) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "target", Aliases: []string{"t"}, EnvVars: []string{TargetEnv},
			Usage: "vSphere target: user:password@host/datacenter, or https://host/sdk"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user name (instead of the one in --target)"},
		&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "password (prompted for when missing and stdin is a terminal)"},
		&cli.StringFlag{Name: "thumbprint", Usage: "SHA-1 or SHA-256 thumbprint of the target's certificate, when an authority does not vouch for it"},
		&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: vch.DefaultName, Usage: "name of the VCH"},
		&cli.StringFlag{Name: "compute-resource", Aliases: []string{"r"}, Usage: "cluster or host (name or inventory path)"},
		&cli.DurationFlag{Name: "timeout", Value: vch.DefaultTimeout, Usage: "time to wait for the operation"},
		&cli.BoolFlag{Name: "debug", Usage: "show debug output (and, with create, run the VCH in debug mode)"},
	}
	if withID {
		flags = append(flags, &cli.StringFlag{Name: "id", Usage: "ID of the VCH (the endpoint VM's, as ls shows it), instead of --name"})
	}
	return flags
}

func isoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "appliance-iso", Aliases: []string{"ai"}, Value: besideExecutable("appliance.iso"), Usage: "the appliance ISO"},
		&cli.StringFlag{Name: "bootstrap-iso", Aliases: []string{"bi"}, Value: besideExecutable("bootstrap.iso"), Usage: "the containerVM boot ISO"},
	}
}

func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "no-tls", Usage: "disable TLS: plain HTTP on port 2375"},
		&cli.BoolFlag{Name: "no-tlsverify", Usage: "TLS without client certificates"},
		&cli.StringSliceFlag{Name: "tls-cname", Usage: "a name (or address) the server certificate is also valid for (repeatable)"},
		&cli.StringFlag{Name: "tls-cert-path", Usage: "folder of the certificates (default: ./<name>)"},
	}
}

func createFlags() []cli.Flag {
	flags := commonFlags(false)
	flags = append(flags, isoFlags()...)
	flags = append(flags, tlsFlags()...)
	return append(flags,
		&cli.StringFlag{Name: "image-store", Aliases: []string{"i"}, Usage: "datastore for the VCH's files and images"},
		&cli.StringSliceFlag{Name: "volume-store", Aliases: []string{"vs"}, Usage: "datastore/path:label for docker volumes (repeatable)"},
		&cli.StringFlag{Name: "bridge-network", Aliases: []string{"b"}, Usage: "port group the containers' bridge network uses"},
		&cli.StringFlag{Name: "bridge-network-range", Aliases: []string{"bnr"}, Value: vch.DefaultBridgeNetworkRange, Usage: "address range of the bridge networks"},
		&cli.StringFlag{Name: "public-network", Aliases: []string{"pn"}, Value: vch.DefaultPublicNetwork, Usage: "port group of the VCH's public interface"},
		&cli.StringFlag{Name: "client-network", Aliases: []string{"cln"}, Usage: "port group docker clients reach the VCH on (default: the public network)"},
		&cli.StringFlag{Name: "management-network", Aliases: []string{"mn"}, Usage: "port group the VCH reaches vSphere on (default: the public network)"},
		&cli.StringSliceFlag{Name: "container-network", Aliases: []string{"cn"}, Usage: "portgroup:alias made available to containers (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-gateway", Aliases: []string{"cng"}, Usage: "portgroup:gateway/prefix of a container network (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-ip-range", Aliases: []string{"cnr"}, Usage: "portgroup:CIDR the VCH gives a container network's addresses from (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-dns", Aliases: []string{"cnd"}, Usage: "portgroup:address of a container network's name server (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-firewall", Aliases: []string{"cnf"}, Usage: "portgroup:trust of a container network: closed, outbound, peers, published or open (repeatable)"},
		&cli.StringSliceFlag{Name: "dns-server", Usage: "DNS server of the VCH and its containers (repeatable)"},
		&cli.Int64Flag{Name: "memory", Aliases: []string{"mem"}, Usage: "memory limit of the VCH pool in MB (0: none)"},
		&cli.Int64Flag{Name: "cpu", Usage: "CPU limit of the VCH pool in MHz (0: none)"},
		&cli.Int64Flag{Name: "endpoint-memory", Value: vch.DefaultEndpointMemoryMB, Usage: "memory of the endpoint VM in MB"},
		&cli.IntFlag{Name: "endpoint-cpu", Value: vch.DefaultEndpointCPUs, Usage: "virtual CPUs of the endpoint VM"},
		&cli.StringSliceFlag{Name: "insecure-registry", Aliases: []string{"dir"}, Usage: "registry reached without TLS verification (repeatable)"},
		&cli.StringSliceFlag{Name: "registry-mirror", Usage: "mirror Docker Hub images are pulled through: https://host[:port] (repeatable)"},
		&cli.StringSliceFlag{Name: "whitelist-registry", Aliases: []string{"wr"}, Usage: "the only registries the VCH reaches: host, host:port, CIDR or *.domain (repeatable)"},
		&cli.StringSliceFlag{Name: "registry-ca", Aliases: []string{"rc"}, Usage: "CA certificate file (PEM) registries may be signed by (repeatable)"},
		&cli.StringFlag{Name: "base-image-size", Value: vch.DefaultBaseImageSize, Usage: "size of the containers' base image disk"},
		&cli.StringFlag{Name: "backend", Value: vch.DefaultBackend, Usage: "backend plugin: vsphere, or vcsim for govmomi's vCenter simulator"},
		&cli.BoolFlag{Name: "use-rp", Usage: "make a resource pool instead of a vApp on vCenter"},
	)
}

func listFlags(withID bool) []cli.Flag {
	return append(commonFlags(withID),
		&cli.StringFlag{Name: "appliance-iso", Aliases: []string{"ai"}, Value: besideExecutable("appliance.iso"),
			Usage: "the appliance ISO whose version upgrade would install"},
		&cli.StringFlag{Name: "tls-cert-path", Usage: "folder of the VCH's certificates (default: ./<name>)"},
	)
}

func deleteFlags() []cli.Flag {
	return append(commonFlags(true),
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "power off and delete running containers too"})
}

func upgradeFlags() []cli.Flag {
	flags := append(commonFlags(true), isoFlags()...)
	return append(flags,
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "upgrade even when the VCH has the installer's version"},
		&cli.BoolFlag{Name: "rollback", Usage: "return to the version before the last upgrade"},
		&cli.StringFlag{Name: "tls-cert-path", Usage: "folder of the VCH's certificates (default: ./<name>)"},
	)
}

func configureFlags() []cli.Flag {
	return append(commonFlags(true),
		&cli.Int64Flag{Name: "cpu", Usage: "CPU limit of the VCH pool in MHz (0: none)"},
		&cli.Int64Flag{Name: "memory", Aliases: []string{"mem"}, Usage: "memory limit of the VCH pool in MB (0: none)"},
		&cli.StringSliceFlag{Name: "dns-server", Usage: "DNS servers, replacing the current ones (repeatable)"},
		&cli.StringSliceFlag{Name: "volume-store", Aliases: []string{"vs"}, Usage: "add a volume store datastore/path:label (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network", Aliases: []string{"cn"}, Usage: "add a container network portgroup:alias (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-gateway", Aliases: []string{"cng"}, Usage: "portgroup:gateway/prefix of a container network (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-ip-range", Aliases: []string{"cnr"}, Usage: "portgroup:CIDR the VCH gives a container network's addresses from (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-dns", Aliases: []string{"cnd"}, Usage: "portgroup:address of a container network's name server (repeatable)"},
		&cli.StringSliceFlag{Name: "container-network-firewall", Aliases: []string{"cnf"}, Usage: "portgroup:trust of a container network: closed, outbound, peers, published or open (repeatable)"},
		&cli.StringSliceFlag{Name: "insecure-registry", Aliases: []string{"dir"}, Usage: "registries reached without TLS verification, replacing the current ones (repeatable)"},
		&cli.StringSliceFlag{Name: "registry-mirror", Usage: "Docker Hub mirrors, replacing the current ones (repeatable)"},
		&cli.StringSliceFlag{Name: "whitelist-registry", Aliases: []string{"wr"}, Usage: "the only registries the VCH reaches, replacing the current list (repeatable)"},
		&cli.StringSliceFlag{Name: "registry-ca", Aliases: []string{"rc"}, Usage: "CA certificate files (PEM) for registries, replacing the current ones (repeatable)"},
		&cli.StringFlag{Name: "tls-cert-path", Usage: "install the certificates of this folder (signing a new server certificate with its ca-key.pem)"},
		&cli.StringSliceFlag{Name: "tls-cname", Usage: "names of the new server certificate (repeatable)"},
		&cli.BoolFlag{Name: "tls-regenerate", Usage: "make a new CA, server and client certificate (the old ones are moved aside)"},
	)
}

func debugFlags() []cli.Flag {
	return append(commonFlags(true),
		&cli.BoolFlag{Name: "enable-ssh", Usage: "let root log in to the endpoint with SSH"},
		&cli.BoolFlag{Name: "disable-ssh", Usage: "turn SSH to the endpoint off"},
		&cli.StringSliceFlag{Name: "authorized-key", Usage: "public key file allowed to log in (repeatable)"},
	)
}

func firewallFlags() []cli.Flag {
	return append(commonFlags(false),
		&cli.BoolFlag{Name: "allow", Usage: "enable the outgoing serial port rule (remoteSerialPort) on every host"},
		&cli.BoolFlag{Name: "deny", Usage: "disable it"},
	)
}
