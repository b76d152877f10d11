package emulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/vice-engine/vice/tether/wire"
)

// machine is what a booted guest holds on the host: its run folder, the files behind its devices and the
// emulator's ends of its sockets. release gives all of it back.
type machine struct {
	dir        string // <RunDir>/<vm-id>: the tether, the root mount point, the serial socket
	spec       guestSpec
	serialSock string
	info       net.Conn      // the emulator's end of the guestinfo stream
	guestEnds  []*os.File    // the child's descriptors; the emulator closes its copies once the child has them
	work       string        // overlayfs's work directory, beside the upper layer
	export     *diskExport   // block-disk mode: the container's disk, whose filesystem is the root
	volumes    []*diskExport // block-disk mode: the volume disks, block devices the tether mounts

	appliance applianceSpec // an appliance VM's init, instead of spec
	// tmp is an appliance's TMPDIR, removed with the guest: the guest shares the host's filesystem, and a
	// killed guest's processes (an endpoint's plugin sockets) cannot clean up after themselves. Made with a
	// short name beside the emulator's own temporary files, since unix sockets live there.
	tmp string
}

// guestPATH is the search path guests start with.
const guestPATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prepare makes everything the guest is started with, from the VM's layout.
func (g *guest) prepare(l layout, sw *stopwatch) (m *machine, err error) {
	ctx, ds := g.ctx, g.e.ds
	m = &machine{dir: filepath.Join(g.e.cfg.RunDir, g.vm.Value)}
	defer func() {
		if err != nil {
			m.closeGuestEnds()
			m.release(g.log)
		}
	}()
	// A folder left by a crashed daemon holds nothing live: its mounts lived in the dead guest's namespace.
	if err := os.RemoveAll(m.dir); err != nil {
		return m, fmt.Errorf("run folder: %w", err)
	}
	m.spec.root = filepath.Join(m.dir, "root")
	if err := os.MkdirAll(m.spec.root, 0o755); err != nil {
		return m, fmt.Errorf("run folder: %w", err)
	}
	sw.lap("runFolder")

	iso, err := ds.local(ctx, l.iso)
	if err != nil {
		return m, err
	}
	cached, err := g.e.tethers.get(iso)
	if err != nil {
		return m, err
	}
	m.spec.tether = filepath.Join(m.dir, tetherName)
	if err := linkOrCopy(cached, m.spec.tether); err != nil {
		return m, fmt.Errorf("tether: %w", err)
	}
	sw.lap("tether")

	if g.e.cfg.BlockDisks {
		err = m.blockRoot(g, l)
	} else {
		err = m.layers(g, l)
	}
	if err != nil {
		return m, err
	}
	sw.lap("disks")
	if err := m.devices(g, l); err != nil {
		return m, err
	}
	sw.lap("devices")
	var disks string
	if g.e.cfg.BlockDisks {
		disks, err = m.blockVolumes(g, l.volumes)
	} else {
		disks, err = disksEnv(ctx, ds, l.volumes)
	}
	if err != nil {
		return m, err
	}
	sw.lap("volumes")
	m.spec.env = []string{wire.EmulatorEnv + "=1", wire.RootEnv + "=" + m.spec.root, guestPATH, disks}
	return m, nil
}

// layers resolves the disk chain: the container's disk is the writable upper layer, its ancestors the
// lower ones, top first. A lower disk without contents (never written, like an empty scratch) is skipped.
func (m *machine) layers(g *guest, l layout) error {
	top, err := g.e.ds.local(g.ctx, l.disk)
	if err != nil {
		return err
	}
	chain, err := diskChain(g.ctx, g.e.ds, top)
	if err != nil {
		return fmt.Errorf("disk chain: %w", err)
	}
	m.spec.upper = diskDataDir(top)
	m.work = filepath.Join(filepath.Dir(m.spec.upper), "work")
	m.spec.work = m.work
	for _, d := range []string{m.spec.upper, m.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("container disk: %w", err)
		}
	}
	for _, d := range chain[1:] {
		dir := diskDataDir(d)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			g.log.Warn("layer disk has no contents; skipped", "disk", d)
			continue
		}
		m.spec.lower = append(m.spec.lower, dir)
	}
	if len(m.spec.lower) == 0 { // overlayfs needs a lower layer: an image of nothing is an empty one
		empty := filepath.Join(m.dir, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			return err
		}
		m.spec.lower = []string{empty}
	}
	return nil
}

// blockRoot exports the container's disk (its whole chain, as ESXi resolves it) as a block device; the guest's
// root is the filesystem on it.
func (m *machine) blockRoot(g *guest, l layout) error {
	top, err := g.e.ds.local(g.ctx, l.disk)
	if err != nil {
		return err
	}
	x, err := exportDisk(g.ctx, top, filepath.Join(m.dir, "disk.export"), false)
	if err != nil {
		return fmt.Errorf("container disk: %w", err)
	}
	m.export = x
	m.spec.device = x.loop
	return nil
}

// devices makes the guest's descriptors, in wire's order: serial socket, output log, debug log, guestinfo.
func (m *machine) devices(g *guest, l layout) error {
	m.serialSock = filepath.Join(m.dir, "serial.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: m.serialSock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("serial socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // the socket lives on in the guest; the emulator dials its path
	serial, err := ln.File()
	ln.Close()
	if err != nil {
		return fmt.Errorf("serial socket: %w", err)
	}
	m.guestEnds = append(m.guestEnds, serial)
	for _, p := range []string{l.outputLog, l.debugLog} {
		f, err := g.openLog(p)
		if err != nil {
			return err
		}
		m.guestEnds = append(m.guestEnds, f)
	}
	if err := m.guestInfoSocket(); err != nil {
		return err
	}
	m.spec.files = m.guestEnds // ExtraFiles: descriptor 3 onwards
	m.spec.stdio = m.guestEnds[wire.FDDebugLog-3]
	return nil
}

// guestInfoSocket adds the guest's end of the guestinfo stream to its descriptors and keeps the emulator's.
func (m *machine) guestInfoSocket() error {
	host, guestEnd, err := socketPair()
	if err != nil {
		return fmt.Errorf("guestinfo socket: %w", err)
	}
	m.guestEnds = append(m.guestEnds, guestEnd)
	m.info, err = net.FileConn(host)
	host.Close()
	if err != nil {
		return fmt.Errorf("guestinfo socket: %w", err)
	}
	return nil
}

// openLog opens a file-backed serial port's file for appending, creating it as ESXi does on power-on. A
// port the VM does not have writes nowhere.
func (g *guest) openLog(dsPath string) (*os.File, error) {
	if dsPath == "" {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	p, err := g.e.ds.local(g.ctx, dsPath)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("serial port file: %w", err)
	}
	return f, nil
}

// closeGuestEnds closes the emulator's copies of the child's descriptors.
func (m *machine) closeGuestEnds() {
	for _, f := range m.guestEnds {
		f.Close()
	}
	m.guestEnds = nil
}

// release closes what is left, removes the run folder and empties the overlay's work directory. The overlay
// mount itself lived in the guest's mount namespace and went with it; the detach is for safety only. The
// work directory itself stays: it is an entry of the VM's folder, and the simulator's storage refresh (a
// Destroy's, say) fails on an entry that vanishes while it lists the folder.
func (m *machine) release(log *slog.Logger) {
	if m.info != nil {
		m.info.Close()
	}
	if m.spec.root != "" {
		unmountRoot(m.spec.root)
	}
	for _, x := range m.volumes {
		if err := x.close(); err != nil {
			log.Warn("release a volume disk", "disk", x.desc, "err", err)
		}
	}
	m.volumes = nil
	if m.export != nil {
		// The guest's mount namespace, and the filesystem with it, went with the guest; the device goes once
		// the kernel has let go of it.
		if err := m.export.close(); err != nil {
			log.Warn("release the container's disk", "err", err)
		}
		m.export = nil
	}
	if m.work != "" {
		// The folder goes with the VM when it is destroyed (a docker run --rm), which may come first.
		if err := emptyDir(m.work); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("clean up after the guest", "dir", m.work, "err", err)
		}
	}
	if err := os.RemoveAll(m.dir); err != nil {
		log.Warn("clean up after the guest", "dir", m.dir, "err", err)
	}
	if m.tmp != "" {
		if err := os.RemoveAll(m.tmp); err != nil {
			log.Warn("clean up after the guest", "dir", m.tmp, "err", err)
		}
	}
}

// emptyDir removes what dir holds, keeping dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// linkOrCopy puts the cached tether in the run folder: a hard link when both are on one filesystem.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
