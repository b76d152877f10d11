package vcsim

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

const bootTimeout = 60 * time.Second

// A containerVM that powers on runs its process on the overlay of its disk chain, reports through
// guestinfo, writes its output log, and powers itself off when the process ends.
func TestGuestRunsAndHalts(t *testing.T) {
	env := newGuestEnv(t)
	id := strings.Repeat("c", 64)
	vm := env.createContainerVM(t, "hello-c1", wire.ContainerConfig{
		ID: id, Name: "hello", Hostname: "hello-host", Path: "/bin/app", Args: []string{"hello"}, Boot: 1,
	}, "")
	ctx := context.Background()
	task, err := vm.PowerOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to power its VM off", bootTimeout, func() bool {
		return powerState(t, vm) == types.VirtualMachinePowerStatePoweredOff
	})
	st, ok := status(t, vm)
	if !ok || st.State != wire.StateExited || st.ExitCode != 3 || st.Boot != 1 {
		t.Fatalf("status %+v (found %v), want exited with 3 from boot 1\ndebug log:\n%s", st, ok,
			readFile(env.dir, "hello-c1/tether.debug"))
	}
	out := readFile(env.dir, "hello-c1/output.log")
	for _, want := range []string{"hello pid=", "layer=top", "base=one", "host=hello-host"} {
		if !strings.Contains(out, want) {
			t.Errorf("output.log lacks %q:\n%s", want, out)
		}
	}
	// The process's writes land in the container's own disk, never in the image's layers.
	if got := readFile(env.dir, "hello-c1/rootfs/written"); got != "by the guest" {
		t.Errorf("container disk /written = %q", got)
	}
	if _, err := os.Stat(filepath.Join(env.dir, "VIC", testVCH, "images", layerTop, "rootfs", "written")); err == nil {
		t.Error("the guest wrote into an image layer")
	}
	env.noLeftovers(t)
}

// Powering a running containerVM off kills its guest and leaves no process or mount behind; the guest's
// root was never mounted in the host's namespace.
func TestPowerOffKillsGuest(t *testing.T) {
	env := newGuestEnv(t)
	vm := env.createContainerVM(t, "sleep-c2", wire.ContainerConfig{
		ID: strings.Repeat("d", 64), Name: "sleep", Path: "/bin/app", Args: []string{"sleep"}, Boot: 1,
	}, "")
	ctx := context.Background()
	task, err := vm.PowerOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to report running", bootTimeout, func() bool {
		st, _ := status(t, vm)
		return st.State == wire.StateRunning
	})
	pids := guestPIDs(env.runDir)
	if len(pids) == 0 {
		t.Fatal("no guest process found")
	}
	if m := hostMounts(t, env.dir); len(m) > 0 {
		t.Errorf("the guest's overlay is visible in the host's namespace:\n%s", strings.Join(m, "\n"))
	}
	// The guest's own namespace has it, as its root.
	if mi, _ := os.ReadFile(filepath.Join("/proc", itoa(pids[0]), "mountinfo")); !strings.Contains(string(mi), " / / ") ||
		!strings.Contains(string(mi), " overlay ") {
		t.Errorf("guest mountinfo has no overlay root:\n%s", mi)
	}
	if task, err = vm.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	env.noLeftovers(t)
	for _, pid := range pids {
		if _, err := os.Stat(filepath.Join("/proc", itoa(pid))); err == nil {
			t.Errorf("guest process %d survived the power-off", pid)
		}
	}
	if powerState(t, vm) != types.VirtualMachinePowerStatePoweredOff {
		t.Error("VM not off")
	}
}

// The guest's serial line dials the VCH; when the VCH drops the line, the emulator dials again and the
// guest, still running, answers on the new line.
func TestSerialLineRedials(t *testing.T) {
	env := newGuestEnv(t)
	vch, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer vch.Close()
	vm := env.createContainerVM(t, "serial-c3", wire.ContainerConfig{
		ID: strings.Repeat("e", 64), Name: "serial", Path: "/bin/app", Args: []string{"sleep"}, Boot: 1,
	}, "tcp://"+vch.Addr().String())
	ctx := context.Background()
	task, err := vm.PowerOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := accept(t, vch)
		// The tether offers a session on each fresh line (wire's serial synchronisation); accepted, it is the
		// SSH server on the line: its version string comes first.
		actx, cancel := context.WithTimeout(ctx, bootTimeout)
		sc, err := wire.AwaitGuest(actx, c, bootTimeout)
		cancel()
		if err != nil {
			c.Close()
			t.Fatalf("line %d: no session offered: %v", i, err)
		}
		_ = sc.SetReadDeadline(time.Now().Add(bootTimeout))
		line, err := bufio.NewReader(sc).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
			t.Fatalf("line %d: read %q, %v", i, line, err)
		}
	}
	if powerState(t, vm) != types.VirtualMachinePowerStatePoweredOn {
		t.Fatal("the guest did not survive the loss of its line")
	}
	if task, err = vm.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	env.noLeftovers(t)
}

// Closing the infrastructure stops every guest and leaves no process, mount or run folder behind.
func TestCloseStopsGuests(t *testing.T) {
	env := newGuestEnv(t)
	vm := env.createContainerVM(t, "close-c4", wire.ContainerConfig{
		ID: strings.Repeat("f", 64), Name: "close", Path: "/bin/app", Args: []string{"sleep"}, Boot: 1,
	}, "")
	ctx := context.Background()
	task, err := vm.PowerOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to report running", bootTimeout, func() bool {
		st, _ := status(t, vm)
		return st.State == wire.StateRunning
	})
	env.inf.Close()
	if pids := guestPIDs(env.runDir); len(pids) > 0 {
		t.Fatalf("guest processes %v survived Close", pids)
	}
	if m := hostMounts(t, env.dir, env.runDir); len(m) > 0 {
		t.Fatalf("mounts left:\n%s", strings.Join(m, "\n"))
	}
	if _, err := os.Stat(env.runDir); !os.IsNotExist(err) {
		t.Fatalf("run folder left: %v", err)
	}
}

func accept(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.c
	case <-time.After(bootTimeout):
		t.Fatal("the guest's serial line never dialled the VCH")
		return nil
	}
}

func readFile(dir, rel string) string {
	b, _ := os.ReadFile(filepath.Join(dir, rel))
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }
