package vsphere

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// The endpoint VM is the VM this backend runs in (VIC's "self"): layer disks are attached to it while they are
// written. It is found once, by Config.EndpointVM or by the BIOS UUID the machine reports, which vSphere keeps
// as the VM's config.uuid.

// biosUUIDPath is where Linux shows the SMBIOS system UUID (root only).
const biosUUIDPath = "/sys/class/dmi/id/product_uuid"

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// endpointState is the endpoint VM once found, and the lock that keeps this backend's reconfigures of it one
// at a time (each reads the device list, picks a free unit and adds or removes a disk).
type endpointState struct {
	findMu sync.Mutex
	vm     *object.VirtualMachine

	devMu sync.Mutex
}

// endpointVM returns the VM this backend runs in.
func (b *Backend) endpointVM(ctx context.Context) (*object.VirtualMachine, error) {
	s := &b.layers.endpoint
	s.findMu.Lock()
	defer s.findMu.Unlock()
	if s.vm != nil {
		return s.vm, nil
	}
	name := b.cfg.EndpointVM
	var candidates []string
	if name == "" {
		raw, err := os.ReadFile(biosUUIDPath)
		if err != nil {
			return nil, fmt.Errorf("find the endpoint VM (this machine's BIOS UUID, %s): %v: %w", biosUUIDPath, err,
				errdefs.ErrUnavailable)
		}
		candidates = biosUUIDs(strings.TrimSpace(string(raw)))
	} else if uuidPattern.MatchString(name) {
		candidates = biosUUIDs(name)
	}
	var vm *object.VirtualMachine
	if len(candidates) == 0 {
		f := find.NewFinder(b.sess.client, false)
		f.SetDatacenter(b.where.datacenter)
		found, err := f.VirtualMachine(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("find the endpoint VM %s: %w", name, classify(err, ""))
		}
		vm = found
	}
	si := object.NewSearchIndex(b.sess.client)
	for _, u := range candidates {
		ref, err := si.FindByUuid(ctx, b.where.datacenter, u, true, types.NewBool(false))
		if err != nil {
			return nil, classify(err, "find the endpoint VM by its BIOS UUID "+u)
		}
		if ref != nil {
			vm = object.NewVirtualMachine(b.sess.client, ref.Reference())
			break
		}
	}
	if vm == nil {
		return nil, fmt.Errorf("no VM has the BIOS UUID %s: the endpoint must run in a VM of this datacenter: %w",
			candidates[0], errdefs.ErrUnavailable)
	}
	b.log.Info("found the endpoint VM", "vm", vm.Reference().Value)
	s.vm = vm
	return vm, nil
}

// biosUUIDs are the forms a BIOS UUID may take in vSphere: as given, and with its first three fields'
// bytes swapped, since SMBIOS before 2.6 (and some VMware hardware versions) store them little-endian.
func biosUUIDs(u string) []string {
	u = strings.ToLower(u)
	if !uuidPattern.MatchString(u) {
		return nil
	}
	b, _ := hex.DecodeString(strings.ReplaceAll(u, "-", ""))
	swapped := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	swapped = append(swapped, b[8:]...)
	h := hex.EncodeToString(swapped)
	other := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	if other == u {
		return []string{u}
	}
	return []string{u, other}
}
