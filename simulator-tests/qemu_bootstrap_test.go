package simulatortests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/wire"
)

// TestQEMUBootstrap boots bootstrap.iso under QEMU as vSphere would boot a containerVM: the VCH (in
// block-disk mode, so its layer and container disks are real) pulls busybox and creates `echo hello`; QEMU then
// boots that containerVM's disk chain, read by its own vmdk driver through the parent hints, on a
// paravirtual SCSI controller, with the VM's guestinfo in fw_cfg and its first serial port dialling this
// test as the network serial backing dials the VCH. Over that line the test speaks the VCH's side of the
// tether's SSH protocol: the container's output arrives on the attach channel, then its exit status.
func TestQEMUBootstrap(t *testing.T) {
	bootstrap, _ := bootISOs(t)
	t.Setenv(vchwire.BlockDisksEnv, "1")
	g := startGuestVCH(t)
	id := strings.TrimSpace(g.ok(t, "create", g.image("busybox"), "echo", "hello"))
	info, disk, macs := containerVM(t, g.vcsimURL, filepath.Join(g.dir, "datastore"), id)
	t.Logf("container %s: disk %s, %d guestinfo keys, NICs %v", id[:12], disk, len(info), macs)

	line, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	dir := t.TempDir()
	host := newGuestInfoHost(t)
	// The VM's vmxnet3 NICs, with their MAC addresses (the tether finds its networks' interfaces by them),
	// each on a user network of its own that reaches nothing.
	var nics []string
	for i, mac := range macs {
		nics = append(nics, "-netdev", fmt.Sprintf("user,id=n%d,restrict=on", i),
			"-device", fmt.Sprintf("vmxnet3,netdev=n%d,mac=%s", i, mac))
	}
	vm := startQEMU(t, bootstrap, info, host, append(nics,
		"-device", "pvscsi,id=scsi0",
		"-drive", "file="+disk+",format=vmdk,if=none,id=root",
		"-device", "scsi-hd,drive=root,bus=scsi0.0,scsi-id=0,lun=0",
		"-serial", "tcp:"+line.Addr().String(),
		"-serial", "file:"+filepath.Join(dir, "output.log"),
		"-serial", "file:"+filepath.Join(dir, "tether.debug"))...)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "tether.debug"))
			t.Logf("tether.debug (the console):\n%s", b)
		}
	})

	start := time.Now()
	_ = line.(*net.TCPListener).SetDeadline(time.Now().Add(time.Minute))
	nc, err := line.Accept()
	if err != nil {
		t.Fatalf("QEMU's serial port did not dial: %v", err)
	}
	defer nc.Close()
	out, code := attachOverSerial(t, nc, id)
	t.Logf("received over the serial line's attach channel after %v: stdout %q, exit status %d",
		time.Since(start).Round(100*time.Millisecond), out, code)
	if out != "hello\n" || code != 0 {
		t.Errorf("container output %q exit %d, want \"hello\\n\" 0", out, code)
	}

	// The tether reports the exit through guestinfo (the virtio port) and powers the VM off.
	raw := host.waitKey(t, vm, time.Minute, wire.KeyStatus, func(v string) bool {
		var st wire.GuestStatus
		return json.Unmarshal([]byte(v), &st) == nil && st.State == wire.StateExited
	})
	t.Logf("guestinfo %s: %s", wire.KeyStatus, raw)
	select {
	case <-vm.exited:
	case <-time.After(time.Minute):
		t.Fatal("the VM did not power off")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "output.log"))
	if !bytes.Contains(log, []byte(`"log":"hello\n"`)) {
		t.Errorf("output.log (the second serial port) lacks the output:\n%s", log)
	}
}

// containerVM reads the VM of container id from the simulator: its guestinfo keys, the local path of its
// disk's descriptor on datastore1 (whose files are in dsDir) and its NICs' MAC addresses.
func containerVM(t *testing.T, rawURL, dsDir, id string) (map[string]string, string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := vcsimClient(t, rawURL)
	f := find.NewFinder(c.Client)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range vms {
		var m mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"config.extraConfig", "config.hardware.device"}, &m); err != nil || m.Config == nil {
			continue
		}
		info := map[string]string{}
		for _, o := range m.Config.ExtraConfig {
			v := o.GetOptionValue()
			if s, ok := v.Value.(string); ok && strings.HasPrefix(v.Key, "guestinfo.") {
				info[v.Key] = s
			}
		}
		if info[wire.KeyID] != id {
			continue
		}
		var macs []string
		for _, d := range m.Config.Hardware.Device {
			if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
				macs = append(macs, nic.GetVirtualEthernetCard().MacAddress)
			}
		}
		for _, d := range m.Config.Hardware.Device {
			vd, ok := d.(*types.VirtualDisk)
			if !ok {
				continue
			}
			fb := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			if !strings.HasSuffix(fb.FileName, id+".vmdk") {
				continue
			}
			ds, rel, _ := strings.Cut(strings.TrimPrefix(fb.FileName, "["), "] ")
			if ds != "datastore1" {
				t.Fatalf("disk on %s", ds)
			}
			return info, filepath.Join(dsDir, filepath.FromSlash(rel)), macs
		}
	}
	t.Fatalf("no containerVM has the ID %s", id)
	return nil, "", nil
}

// attachOverSerial is the VCH's side of the serial line, as the attach listener speaks it: it waits for the
// tether's offer of a session (wire's serial synchronisation: the line connected at power-on, long before
// the tether listened, so nothing is sent before), asks the container's ID, opens the attach channel and
// reads stdout until the exit status.
func attachOverSerial(t *testing.T, nc net.Conn, id string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	line, err := wire.AwaitGuest(ctx, nc, time.Minute)
	if err != nil {
		t.Fatalf("the tether did not offer a session on the serial line: %v", err)
	}
	_ = nc.SetDeadline(time.Now().Add(3 * time.Minute))
	conn, chans, reqs, err := ssh.NewClientConn(line, "serial", &ssh.ClientConfig{
		User: "vice", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatalf("SSH over the serial line: %v", err)
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	go func() {
		for nch := range chans {
			_ = nch.Reject(ssh.Prohibited, "the VCH opens the channels")
		}
	}()
	ok, payload, err := conn.SendRequest(wire.RequestContainerID, true, nil)
	if err != nil || !ok || !strings.Contains(string(payload), id) {
		t.Fatalf("container ID over the serial line: %v %v %q", ok, err, payload)
	}
	ch, creqs, err := conn.OpenChannel(wire.ChannelAttach, nil)
	if err != nil {
		t.Fatalf("attach channel: %v", err)
	}
	code := make(chan int, 1)
	go func() {
		for r := range creqs {
			if r.Type == wire.RequestExitStatus && len(r.Payload) >= 4 {
				code <- int(uint32(r.Payload[0])<<24 | uint32(r.Payload[1])<<16 | uint32(r.Payload[2])<<8 | uint32(r.Payload[3]))
			}
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	out, err := io.ReadAll(ch)
	if err != nil {
		t.Fatalf("attach channel: %v", err)
	}
	select {
	case c := <-code:
		return string(out), c
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit status after %q", out)
	}
	return "", -1
}
