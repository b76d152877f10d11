package emulator

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/tether/wire"
)

// guestIPTimeout bounds the reconfigure that shows an appliance's address as its guest IP.
const guestIPTimeout = 30 * time.Second

// bootAppliance boots a VCH endpoint VM: the init of its appliance.iso runs as PID 1 of new PID, UTS, IPC
// and mount namespaces in the host's network namespace, with a loopback address of its own (vchwire.GuestIPEnv)
// and a scratch directory for this boot. It returns when the guest has ended and its files are released.
func (g *guest) bootAppliance(l layout) error {
	g.log = g.log.With("vm", l.name, "appliance", true)
	m, addr, err := g.prepareAppliance(l)
	if err != nil {
		return err
	}
	vnet, err := g.startNet(nil)
	if err != nil {
		m.closeGuestEnds()
		m.release(g.log)
		return err
	}
	defer g.stopNet()
	m.appliance.nics = vnet.ns
	proc, err := startAppliance(m.appliance)
	m.closeGuestEnds()
	if err != nil {
		m.release(g.log)
		return fmt.Errorf("start the appliance's init: %w", err)
	}
	g.log.Info("appliance booted", "pid", proc.Process.Pid, "ip", addr, "root", m.appliance.root)
	g.supervise(proc, m.info, func() { g.showGuestIP(addr.String()) })
	m.release(g.log)
	g.showGuestIP("") // the guest is gone, and its tools with it
	return nil
}

// prepareAppliance makes what the init is started with: the ISO's files, the scratch directory, the
// address and the descriptors (wire.FD*: no serial line and no output log; the debug log is appliance.log).
func (g *guest) prepareAppliance(l layout) (m *machine, addr netip.Addr, err error) {
	m = &machine{dir: filepath.Join(g.e.cfg.RunDir, g.vm.Value)}
	defer func() {
		if err != nil {
			m.closeGuestEnds()
			m.release(g.log)
		}
	}()
	if err := os.RemoveAll(m.dir); err != nil {
		return m, addr, fmt.Errorf("run folder: %w", err)
	}
	state := filepath.Join(m.dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return m, addr, fmt.Errorf("run folder: %w", err)
	}
	iso, err := g.e.ds.local(g.ctx, l.iso)
	if err != nil {
		return m, addr, err
	}
	root, err := g.e.appliances.get(iso)
	if err != nil {
		return m, addr, err
	}
	if addr, err = g.e.addrs.get(g.vm.Value); err != nil {
		return m, addr, err
	}

	for range 2 { // FDSerial, FDOutputLog
		f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return m, addr, err
		}
		m.guestEnds = append(m.guestEnds, f)
	}
	console, err := g.openLog(l.applianceLog)
	if err != nil {
		return m, addr, err
	}
	m.guestEnds = append(m.guestEnds, console)
	if err := m.guestInfoSocket(); err != nil {
		return m, addr, err
	}
	if m.tmp, err = os.MkdirTemp("", "vice-guest-"); err != nil {
		return m, addr, fmt.Errorf("the guest's temporary directory: %w", err)
	}
	// The mount point of the vNICs' namespace, which the init's mount namespace alone sees bound.
	nics := filepath.Join(state, "nics.netns")
	if err := os.WriteFile(nics, nil, 0o600); err != nil {
		return m, addr, fmt.Errorf("run folder: %w", err)
	}
	m.appliance = applianceSpec{
		init: filepath.Join(root, vchwire.ApplianceInit), root: root,
		env: []string{wire.EmulatorEnv + "=1", vchwire.ApplianceRootEnv + "=" + root,
			vchwire.ApplianceStateEnv + "=" + state, vchwire.GuestIPEnv + "=" + addr.String(),
			vchwire.NICNamespaceEnv + "=" + nics, guestPATH, "TMPDIR=" + m.tmp,
			// What a VM's SMBIOS would tell its guest.
			vchwire.EndpointVMEnv + "=" + l.biosUUID},
		files: m.guestEnds, stdio: console, nicsPath: nics,
	}
	if g.e.cfg.BlockDisks {
		m.appliance.env = append(m.appliance.env, vchwire.BlockDisksEnv+"=1")
	}
	return m, addr, nil
}

// showGuestIP makes the simulator report ip as the VM's guest address (guest.ipAddress), as VMware Tools
// would; "" clears it. vcsim takes "SET.<property>" extraConfig keys as property writes and stores nothing.
func (g *guest) showGuestIP(ip string) {
	ctx, cancel := context.WithTimeout(g.e.ctx, guestIPTimeout)
	defer cancel()
	var set []types.BaseOptionValue
	for _, p := range []string{"guest.ipAddress", "summary.guest.ipAddress"} {
		set = append(set, &types.OptionValue{Key: "SET." + p, Value: ip})
	}
	task, err := object.NewVirtualMachine(g.e.client, g.vm).Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: set})
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	if err != nil {
		g.log.Debug("show the guest IP", "ip", ip, "err", err)
	}
}
