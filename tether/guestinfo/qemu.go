package guestinfo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/vice-engine/vice/tether/wire"
)

// Where Linux shows QEMU's fw_cfg files and virtio-serial ports (the qemu_fw_cfg and virtio_console modules).
const (
	fwCfgByName     = "/sys/firmware/qemu_fw_cfg/by_name"
	virtioPortsDir  = "/sys/class/virtio-ports"
	maxConfigLength = 4 << 20
)

// QEMU is guestinfo on QEMU: what the endpoint wrote before power-on comes from the fw_cfg file
// wire.QEMUConfigFile, and what the guest writes goes to the host over the virtio-serial port
// wire.QEMUGuestInfoPort. Keys the guest wrote read back as it wrote them; the endpoint's keys are those
// of power-on (fw_cfg does not change while the VM runs).
type QEMU struct {
	config map[string]string
	port   *Stream // nil without the port: writes fail

	mu      sync.Mutex
	written map[string]string
}

// QEMUConfigPath is the fw_cfg file of wire.QEMUConfigFile under the sysfs directory fwCfg.
func QEMUConfigPath(fwCfg string) string {
	return filepath.Join(fwCfg, filepath.FromSlash(wire.QEMUConfigFile), "raw")
}

// IsQEMU reports whether this machine has vice's guestinfo in fw_cfg.
func IsQEMU() bool {
	_, err := os.Stat(QEMUConfigPath(fwCfgByName))
	return err == nil
}

// NewQEMU reads the configuration from fw_cfg and opens the guestinfo port.
func NewQEMU() (*QEMU, error) {
	port, err := openVirtioPort(virtioPortsDir, "/dev", wire.QEMUGuestInfoPort)
	if err != nil {
		return nil, err
	}
	var rw io.ReadWriter
	if port != nil {
		rw = port
	}
	return newQEMU(QEMUConfigPath(fwCfgByName), rw)
}

// newQEMU reads the configuration file at config; port carries the writes (nil: none).
func newQEMU(config string, port io.ReadWriter) (*QEMU, error) {
	f, err := os.Open(config)
	if err != nil {
		return nil, fmt.Errorf("qemu guestinfo: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigLength))
	if err != nil {
		return nil, fmt.Errorf("qemu guestinfo: %w", err)
	}
	q := &QEMU{config: map[string]string{}, written: map[string]string{}}
	if err := json.Unmarshal(raw, &q.config); err != nil {
		return nil, fmt.Errorf("qemu guestinfo: %s is not a JSON object of keys: %w", wire.QEMUConfigFile, err)
	}
	if port != nil {
		q.port = NewStream(port)
	}
	return q, nil
}

// Get implements Client.
func (q *QEMU) Get(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	q.mu.Lock()
	v, ok := q.written[key]
	q.mu.Unlock()
	if ok {
		return v, v != "", nil
	}
	v, ok = q.config[key]
	return v, ok, nil
}

// Set implements Client: the host has the value before Set returns.
func (q *QEMU) Set(ctx context.Context, key, value string) error {
	if q.port == nil {
		return fmt.Errorf("guestinfo set %s: no %s port: %w", key, wire.QEMUGuestInfoPort, ErrNotImplemented)
	}
	if err := q.port.Set(ctx, key, value); err != nil {
		return err
	}
	q.mu.Lock()
	q.written[key] = value
	q.mu.Unlock()
	return nil
}

// openVirtioPort opens the virtio-serial port called name (sysfs dir lists the ports, devDir holds their
// nodes); nil when there is none.
func openVirtioPort(sysDir, devDir, name string) (*os.File, error) {
	entries, err := os.ReadDir(sysDir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("virtio ports: %w", err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(sysDir, e.Name(), "name"))
		if err != nil || string(trimNewline(b)) != name {
			continue
		}
		f, err := os.OpenFile(filepath.Join(devDir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("virtio port %s: %w", name, err)
		}
		return f, nil
	}
	return nil, nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}
