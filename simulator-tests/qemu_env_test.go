package simulatortests

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vice-engine/vice/tether/wire"
)

// The QEMU tests boot the ISOs `make build` makes under a real hypervisor: TCG, QEMU's own CPU emulator,
// unless VICE_QEMU_ACCEL names another (kvm where it works). They give the VM VMware's virtual hardware
// where QEMU has it (pvscsi, vmxnet3, the IDE CD-ROM) and its guestinfo the QEMU way (tether/wire's
// QEMUConfigFile in fw_cfg, and the QEMUGuestInfoPort virtio-serial port, served here).

var (
	bootISOsOnce sync.Once
	bootISOsErr  error
)

// bootISOs runs `make bootstrap-iso appliance-iso` at the top of the tree (the kernel package is fetched into
// its cache once) and returns the two ISOs.
func bootISOs(t *testing.T) (bootstrap, appliance string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bootISOsOnce.Do(func() {
		cmd := exec.Command("make", "-s", "bootstrap-iso", "appliance-iso")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			bootISOsErr = &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: out}
			t.Logf("make: %s", out)
		}
	})
	if bootISOsErr != nil {
		t.Fatalf("make bootstrap-iso appliance-iso: %v", bootISOsErr)
	}
	return filepath.Join(root, "bin", "bootstrap.iso"), filepath.Join(root, "bin", "appliance.iso")
}

func qemuAccel() string {
	if a := os.Getenv("VICE_QEMU_ACCEL"); a != "" {
		return a
	}
	return "tcg"
}

// qemuVM is one QEMU process; the test's cleanup kills it.
type qemuVM struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// startQEMU boots iso with the given extra arguments, the guestinfo keys info in fw_cfg and the port host
// serves.
func startQEMU(t *testing.T, iso string, info map[string]string, host *guestInfoHost, args ...string) *qemuVM {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatal("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "guestinfo.json")
	raw, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"-accel", qemuAccel(), "-m", "1024", "-smp", "1", "-display", "none", "-no-reboot",
		"-cdrom", iso, "-boot", "d",
		"-fw_cfg", "name=" + wire.QEMUConfigFile + ",file=" + cfg,
		"-chardev", "socket,id=guestinfo,host=127.0.0.1,port=" + strconv.Itoa(host.port()),
		"-device", "virtio-serial-pci", "-device", "virtserialport,chardev=guestinfo,name=" + wire.QEMUGuestInfoPort}
	vm := &qemuVM{out: &syncBuffer{}, exited: make(chan struct{})}
	vm.cmd = exec.Command("qemu-system-x86_64", append(base, args...)...)
	vm.cmd.Stdout, vm.cmd.Stderr = vm.out, vm.out
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := vm.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("qemu (%s) pid %d: %s", qemuAccel(), vm.cmd.Process.Pid, strings.Join(vm.cmd.Args, " "))
	go func() { _ = vm.cmd.Wait(); close(vm.exited) }()
	t.Cleanup(func() {
		select {
		case <-vm.exited:
		default:
			_ = syscall.Kill(-vm.cmd.Process.Pid, syscall.SIGKILL)
			<-vm.exited
		}
		if t.Failed() {
			t.Logf("qemu output:\n%s", vm.out.String())
		}
	})
	return vm
}

// guestInfoHost is the host's end of the guestinfo port: it records what the guest writes and answers
// its reads of them, as the VM's extraConfig would.
type guestInfoHost struct {
	ln   net.Listener
	mu   sync.Mutex
	keys map[string]string
	seen chan string // the key of each write
}

func newGuestInfoHost(t *testing.T) *guestInfoHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &guestInfoHost{ln: ln, keys: map[string]string{}, seen: make(chan string, 1024)}
	t.Cleanup(func() { ln.Close() })
	go h.serve()
	return h
}

func (h *guestInfoHost) port() int { return h.ln.Addr().(*net.TCPAddr).Port }

func (h *guestInfoHost) serve() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		go h.conn(c)
	}
}

func (h *guestInfoHost) conn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var req wire.GuestInfoRequest
		var reply wire.GuestInfoReply
		switch err := json.Unmarshal(line, &req); {
		case err != nil:
			reply.Error = err.Error()
		case req.Op == "set":
			h.mu.Lock()
			h.keys[req.Key] = req.Value
			h.mu.Unlock()
			select {
			case h.seen <- req.Key:
			default:
			}
		case req.Op == "get":
			h.mu.Lock()
			reply.Value, reply.Found = h.keys[req.Key]
			h.mu.Unlock()
		default:
			reply.Error = "unknown op " + req.Op
		}
		b, _ := json.Marshal(reply)
		if _, err := c.Write(append(b, '\n')); err != nil {
			return
		}
	}
}

func (h *guestInfoHost) get(key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys[key]
}

// waitKey waits until ok accepts the value the guest wrote to key.
func (h *guestInfoHost) waitKey(t *testing.T, vm *qemuVM, d time.Duration, key string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(d)
	for {
		if v := h.get(key); ok(v) {
			return v
		}
		select {
		case <-h.seen:
		case <-vm.exited:
			if v := h.get(key); ok(v) {
				return v
			}
			t.Fatalf("the VM stopped before %s was written as expected (last: %s)", key, h.get(key))
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s (last: %s)", d, key, h.get(key))
		}
	}
}
