package machine

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/vice-engine/vice/installer/vch"
)

// Main runs vice-machine on args (os.Args) and returns its exit code: 0 on success, 1 on failure.
func Main(args []string, stdin *os.File, stdout io.Writer, build BuildInfo) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := false
	app := NewApp(build, stdin, stdout, &failed)
	if err := app.RunContext(ctx, args); err != nil || failed {
		return 1
	}
	return 0
}

// NewApp is the command line. failed is set when a command fails without an error reaching the caller.
func NewApp(build BuildInfo, stdin *os.File, stdout io.Writer, failed *bool) *cli.App {
	run := func(f func(*cli.Context, *Machine) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			m := New(stdout, c.Bool("debug"), build)
			err := f(c, m)
			if err != nil && !vch.IsReported(err) {
				m.Log.Errorf("%v", err)
			}
			if err != nil {
				m.Log.Errorf("vice-machine %s failed", c.Command.FullName())
			}
			return err
		}
	}
	return &cli.App{
		Name:                      "vice-machine",
		Usage:                     "create and manage Virtual Container Hosts on vSphere",
		HideVersion:               true,
		Writer:                    stdout,
		ErrWriter:                 stdout,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, cmd string) {
			New(stdout, false, build).Log.Errorf("no command %q: run `vice-machine help`", cmd)
			*failed = true
		},
		Commands: []*cli.Command{
			{Name: "create", Usage: "deploy a VCH", Flags: createFlags(), Action: run(func(c *cli.Context, m *Machine) error {
				o, err := createOptions(c, stdin, stdout)
				if err != nil {
					return err
				}
				return m.Create(c.Context, o)
			})},
			{Name: "ls", Usage: "list the VCHs", Flags: listFlags(false), Action: run(func(c *cli.Context, m *Machine) error {
				o, err := listOptions(c, stdin, stdout)
				if err != nil {
					return err
				}
				return m.List(c.Context, o)
			})},
			{Name: "inspect", Usage: "show a VCH", Flags: listFlags(true), Action: run(func(c *cli.Context, m *Machine) error {
				o, err := listOptions(c, stdin, stdout)
				if err != nil {
					return err
				}
				return m.Inspect(c.Context, o)
			}), Subcommands: []*cli.Command{
				{Name: "config", Usage: "print the create command that makes the VCH", Flags: listFlags(true), Action: run(func(c *cli.Context, m *Machine) error {
					o, err := listOptions(c, stdin, stdout)
					if err != nil {
						return err
					}
					return m.InspectConfig(c.Context, o)
				})},
			}},
			{Name: "delete", Usage: "remove a VCH", Flags: deleteFlags(), Action: run(func(c *cli.Context, m *Machine) error {
				co, err := commonOptions(c, stdin, stdout)
				if err != nil {
					return err
				}
				return m.Delete(c.Context, vch.DeleteOptions{CommonOptions: co, Force: c.Bool("force")})
			})},
			{Name: "upgrade", Usage: "upgrade a VCH to the installer's version, or roll it back", Flags: upgradeFlags(),
				Action: run(func(c *cli.Context, m *Machine) error {
					co, err := commonOptions(c, stdin, stdout)
					if err != nil {
						return err
					}
					o := vch.UpgradeOptions{
						CommonOptions: co, ApplianceISO: c.String("appliance-iso"), BootstrapISO: c.String("bootstrap-iso"),
						CertPath: c.String("tls-cert-path"), Force: c.Bool("force"),
					}
					if c.Bool("rollback") {
						return m.Rollback(c.Context, o)
					}
					return m.Upgrade(c.Context, o)
				})},
			{Name: "configure", Usage: "change a VCH", Flags: configureFlags(), Action: run(func(c *cli.Context, m *Machine) error {
				co, err := commonOptions(c, stdin, stdout)
				if err != nil {
					return err
				}
				o := vch.ConfigureOptions{
					CommonOptions: co, DNS: c.StringSlice("dns-server"), VolumeStores: c.StringSlice("volume-store"),
					ContainerNetworks: c.StringSlice("container-network"), CertPath: c.String("tls-cert-path"),
					ContainerNetworkSettings: containerNetworkSettings(c),
					CNames:                   c.StringSlice("tls-cname"), RegenerateCerts: c.Bool("tls-regenerate"),
					InsecureRegistries: c.StringSlice("insecure-registry"), RegistryMirrors: c.StringSlice("registry-mirror"),
					WhitelistRegistries: c.StringSlice("whitelist-registry"), RegistryCAFiles: c.StringSlice("registry-ca"),
				}
				if c.IsSet("cpu") {
					v := c.Int64("cpu")
					o.CPUMHz = &v
				}
				if c.IsSet("memory") {
					v := c.Int64("memory")
					o.MemoryMB = &v
				}
				return m.Configure(c.Context, o)
			})},
			{Name: "debug", Usage: "enable or disable SSH to a VCH's endpoint", Flags: debugFlags(), Action: run(func(c *cli.Context, m *Machine) error {
				co, err := commonOptions(c, stdin, stdout)
				if err != nil {
					return err
				}
				return m.Debug(c.Context, vch.DebugOptions{CommonOptions: co, EnableSSH: c.Bool("enable-ssh"),
					DisableSSH: c.Bool("disable-ssh")}, c.StringSlice("authorized-key"))
			})},
			{Name: "update", Usage: "update the target's configuration", Subcommands: []*cli.Command{
				{Name: "firewall", Usage: "allow or deny the containerVMs' serial lines through the hosts' firewalls", Flags: firewallFlags(),
					Action: run(func(c *cli.Context, m *Machine) error {
						co, err := commonOptions(c, stdin, stdout)
						if err != nil {
							return err
						}
						return m.UpdateFirewall(c.Context, vch.FirewallOptions{CommonOptions: co, Allow: c.Bool("allow"), Deny: c.Bool("deny")})
					})},
			}},
			{Name: "version", Usage: "show the version", Action: func(c *cli.Context) error {
				New(stdout, false, build).Version()
				return nil
			}},
		},
	}
}

// commonOptions reads the common flags, prompting for a missing password on a terminal.
func commonOptions(c *cli.Context, stdin *os.File, stdout io.Writer) (vch.CommonOptions, error) {
	if c.Args().Len() > 0 {
		return vch.CommonOptions{}, errors.New("unexpected argument " + c.Args().First() + ": vice-machine takes flags only (see --help)")
	}
	o := vch.CommonOptions{
		Target: c.String("target"), User: c.String("user"), Password: c.String("password"),
		Thumbprint: c.String("thumbprint"), Name: c.String("name"), ComputeResource: c.String("compute-resource"),
		Timeout: c.Duration("timeout"), Debug: c.Bool("debug"),
	}
	if c.IsSet("id") || c.String("id") != "" {
		o.ID = c.String("id")
	}
	t, err := vch.ParseTarget(o.Target, o.User, o.Password)
	if err != nil {
		return o, err
	}
	if t.Password == "" {
		pw, err := promptPassword(stdin, stdout, t.User, t.Host)
		if err != nil {
			return o, err
		}
		o.Password = pw
	}
	return o, nil
}

func listOptions(c *cli.Context, stdin *os.File, stdout io.Writer) (ListOptions, error) {
	co, err := commonOptions(c, stdin, stdout)
	if err != nil {
		return ListOptions{}, err
	}
	return ListOptions{CommonOptions: co, ApplianceISO: c.String("appliance-iso"), CertPath: c.String("tls-cert-path")}, nil
}

func createOptions(c *cli.Context, stdin *os.File, stdout io.Writer) (vch.CreateOptions, error) {
	co, err := commonOptions(c, stdin, stdout)
	if err != nil {
		return vch.CreateOptions{}, err
	}
	return vch.CreateOptions{
		CommonOptions: co,
		TLSOptions: vch.TLSOptions{NoTLS: c.Bool("no-tls"), NoTLSVerify: c.Bool("no-tlsverify"),
			CNames: c.StringSlice("tls-cname"), CertPath: c.String("tls-cert-path")},
		ImageStore: c.String("image-store"), VolumeStores: c.StringSlice("volume-store"),
		BridgeNetwork: c.String("bridge-network"), BridgeNetworkRange: c.String("bridge-network-range"),
		PublicNetwork: c.String("public-network"), ClientNetwork: c.String("client-network"),
		ManagementNetwork: c.String("management-network"), ContainerNetworks: c.StringSlice("container-network"),
		ContainerNetworkSettings: containerNetworkSettings(c),
		DNS:                      c.StringSlice("dns-server"), MemoryMB: c.Int64("memory"), CPUMHz: c.Int64("cpu"),
		EndpointMemoryMB: c.Int64("endpoint-memory"), EndpointCPUs: c.Int("endpoint-cpu"),
		InsecureRegistries: c.StringSlice("insecure-registry"), BaseImageSize: c.String("base-image-size"),
		RegistryMirrors: c.StringSlice("registry-mirror"), WhitelistRegistries: c.StringSlice("whitelist-registry"),
		RegistryCAFiles: c.StringSlice("registry-ca"),
		ApplianceISO:    c.String("appliance-iso"), BootstrapISO: c.String("bootstrap-iso"),
		Backend: c.String("backend"), UseRP: c.Bool("use-rp"),
	}, nil
}

// containerNetworkSettings are the --container-network-* flags.
func containerNetworkSettings(c *cli.Context) vch.ContainerNetworkSettings {
	return vch.ContainerNetworkSettings{
		ContainerNetworkGateways: c.StringSlice("container-network-gateway"), ContainerNetworkIPRanges: c.StringSlice("container-network-ip-range"),
		ContainerNetworkDNS: c.StringSlice("container-network-dns"), ContainerNetworkFirewalls: c.StringSlice("container-network-firewall"),
	}
}
