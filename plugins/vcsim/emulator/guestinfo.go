package emulator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
	"github.com/vice-engine/vice/tether/wire"
)

const (
	// guestInfoPrefix is the only part of extraConfig a guest may read or write, as with VMware Tools.
	guestInfoPrefix = "guestinfo."
	// maxGuestInfoLine bounds one request; the container config is the largest value, well below it.
	maxGuestInfoLine = 4 << 20
	guestInfoTimeout = 30 * time.Second
)

// serveGuestInfo answers the guest's guestinfo requests until it closes the stream. Requests are applied in
// order, each before its reply, so a guest that waits for the reply to its last "set" knows it is visible.
// The emulator's context bounds each request rather than the guest's: what a halting guest wrote last must
// still be applied.
func (g *guest) serveGuestInfo(conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), maxGuestInfoLine)
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		var req wire.GuestInfoRequest
		var reply wire.GuestInfoReply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			reply.Error = "bad request: " + err.Error()
		} else {
			reply = g.guestInfo(req)
		}
		if err := enc.Encode(reply); err != nil {
			return
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		g.log.Warn("guestinfo stream", "err", err)
	}
}

func (g *guest) guestInfo(req wire.GuestInfoRequest) wire.GuestInfoReply {
	if !strings.HasPrefix(req.Key, guestInfoPrefix) {
		return wire.GuestInfoReply{Error: fmt.Sprintf("key %q is not a guestinfo key", req.Key)}
	}
	ctx, cancel := context.WithTimeout(g.e.ctx, guestInfoTimeout)
	defer cancel()
	switch req.Op {
	case "get":
		v, found, err := g.getExtraConfig(ctx, req.Key)
		if err != nil {
			return wire.GuestInfoReply{Error: err.Error()}
		}
		return wire.GuestInfoReply{Value: v, Found: found}
	case "set":
		began := time.Now()
		if err := g.setExtraConfig(ctx, req.Key, req.Value); err != nil {
			g.log.Warn("guestinfo set", "key", req.Key, "err", err)
			return wire.GuestInfoReply{Error: err.Error()}
		}
		g.log.Debug("guestinfo set", "key", req.Key, "ms", ms(time.Since(began)))
		return wire.GuestInfoReply{Found: true}
	}
	return wire.GuestInfoReply{Error: fmt.Sprintf("unknown op %q", req.Op)}
}

// getExtraConfig reads the VM's current extraConfig, so the guest sees what the endpoint wrote last. The
// key ESXi keeps out of API reads (vmxfile.OVFEnv) is read from the VM's .vmx file, as ESXi's VMX reads
// it; from extraConfig only when the simulator shows it there (plain vcsim).
func (g *guest) getExtraConfig(ctx context.Context, key string) (string, bool, error) {
	value, found, vmx, err := g.readExtraConfig(ctx, key)
	if err != nil || found {
		return value, found, err
	}
	if strings.EqualFold(key, vmxfile.OVFEnv) && vmx != "" {
		vmx, err := g.e.ds.local(ctx, vmx)
		if err != nil {
			return "", false, fmt.Errorf("the VM's .vmx: %w", err)
		}
		return vmxfile.Get(vmx, key)
	}
	return "", false, nil
}

// readExtraConfig reads key from the VM's extraConfig, and the VM's .vmx path. With the simulator in this
// process (Config.Registry) it reads the VM there, under the VM's lock, as ESXi's VMX has its own VM's
// configuration at hand; else through the API.
func (g *guest) readExtraConfig(ctx context.Context, key string) (value string, found bool, vmx string, err error) {
	if reg := g.e.cfg.Registry; reg != nil {
		obj := reg.Get(g.vm)
		if obj == nil {
			return "", false, "", fmt.Errorf("read extraConfig: %s is gone", g.vm.Value)
		}
		reg.WithLock(&simulator.Context{Map: reg}, obj, func() {
			vm := asVM(obj)
			if vm == nil || vm.Config == nil {
				return
			}
			value, found = optionValue(vm.Config.ExtraConfig, key)
			vmx = vm.Config.Files.VmPathName
		})
		return value, found, vmx, nil
	}
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(g.e.client).RetrieveOne(ctx, g.vm, []string{"config.extraConfig", "config.files.vmPathName"}, &vm); err != nil {
		return "", false, "", fmt.Errorf("read extraConfig: %w", err)
	}
	if vm.Config == nil {
		return "", false, "", nil
	}
	value, found = optionValue(vm.Config.ExtraConfig, key)
	return value, found, vm.Config.Files.VmPathName, nil
}

// optionValue is key's string value among options.
func optionValue(options []types.BaseOptionValue, key string) (string, bool) {
	for _, o := range options {
		if v := o.GetOptionValue(); v != nil && v.Key == key {
			s, _ := v.Value.(string)
			return s, true
		}
	}
	return "", false
}

// setExtraConfig writes through a real reconfigure, so every client's property collector sees the change
// (the backend waits on wire.KeyStatus). As in vSphere, an empty value removes the key. With the simulator
// in this process the reconfigure is its method called in process (inproc.go).
func (g *guest) setExtraConfig(ctx context.Context, key, value string) error {
	spec := types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}},
	}
	err := g.e.runTask(ctx, func(c *vim25.Client) (*object.Task, error) {
		return object.NewVirtualMachine(c, g.vm).Reconfigure(ctx, spec)
	})
	if err != nil {
		return fmt.Errorf("write extraConfig: %w", err)
	}
	return nil
}
