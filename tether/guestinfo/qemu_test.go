package guestinfo

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/vice-engine/vice/tether/wire"
)

// qemuHost serves the guestinfo port as a QEMU backend would: sets are kept, gets of unknown keys are not
// found.
func qemuHost(t *testing.T, conn net.Conn, got map[string]string) {
	t.Helper()
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var req wire.GuestInfoRequest
		var reply wire.GuestInfoReply
		if err := json.Unmarshal(line, &req); err != nil || req.Op != "set" {
			reply.Error = "only set"
		} else {
			got[req.Key] = req.Value
		}
		b, _ := json.Marshal(reply)
		if _, err := conn.Write(append(b, '\n')); err != nil {
			return
		}
	}
}

func TestQEMU(t *testing.T) {
	dir := t.TempDir()
	fwCfg := filepath.Join(dir, "by_name")
	config := QEMUConfigPath(fwCfg)
	if err := os.MkdirAll(filepath.Dir(config), 0o755); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{wire.KeyConfig: `{"id":"abc"}`, wire.KeyID: "abc"})
	if err := os.WriteFile(config, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	guest, host := net.Pipe()
	defer guest.Close()
	got := map[string]string{}
	done := make(chan struct{})
	go func() { defer close(done); qemuHost(t, host, got) }()

	q, err := newQEMU(config, guest)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, ok, err := q.Get(ctx, wire.KeyID); err != nil || !ok || v != "abc" {
		t.Errorf("get id: %q %v %v", v, ok, err)
	}
	if _, ok, err := q.Get(ctx, wire.KeyStatus); err != nil || ok {
		t.Errorf("status before it is written: %v %v", ok, err)
	}
	if err := q.Set(ctx, wire.KeyStatus, `{"state":"running"}`); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := q.Get(ctx, wire.KeyStatus); !ok || v != `{"state":"running"}` {
		t.Errorf("status read back: %q %v", v, ok)
	}
	if err := q.Set(ctx, wire.KeyStatus, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := q.Get(ctx, wire.KeyStatus); ok {
		t.Error("a removed key is still there")
	}
	guest.Close()
	<-done
	if got[wire.KeyStatus] != "" {
		t.Errorf("the host has %q", got[wire.KeyStatus])
	}
	if _, ok := got[wire.KeyStatus]; !ok {
		t.Error("the host never saw the write")
	}

	// Without the port the configuration still reads, and writes say why they fail.
	ro, err := newQEMU(config, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Set(ctx, wire.KeyStatus, "x"); err == nil {
		t.Error("a write without the port")
	}
	if err := os.WriteFile(config, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newQEMU(config, nil); err == nil {
		t.Error("a configuration that is not JSON")
	}
}

func TestOpenVirtioPort(t *testing.T) {
	dir := t.TempDir()
	sys, dev := filepath.Join(dir, "sys"), filepath.Join(dir, "dev")
	for name, port := range map[string]string{"vport0p1": "org.qemu.guest_agent.0", "vport1p1": wire.QEMUGuestInfoPort} {
		if err := os.MkdirAll(filepath.Join(sys, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, name, "name"), []byte(port+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "vport1p1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openVirtioPort(sys, dev, wire.QEMUGuestInfoPort)
	if err != nil || f == nil || filepath.Base(f.Name()) != "vport1p1" {
		t.Fatalf("port %v %v", f, err)
	}
	f.Close()
	if f, err := openVirtioPort(sys, dev, "org.other"); f != nil || err != nil {
		t.Errorf("a port by another name: %v %v", f, err)
	}
	if f, err := openVirtioPort(filepath.Join(dir, "none"), dev, wire.QEMUGuestInfoPort); f != nil || err != nil {
		t.Errorf("no virtio ports at all: %v %v", f, err)
	}
}
