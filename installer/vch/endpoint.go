package vch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// endpointVM drives the endpoint VM: power, extraConfig, and the appliance's status reports.
type endpointVM struct {
	s    *Session
	vm   *object.VirtualMachine
	name string
	// console is the appliance's console log on the datastore, for failure messages.
	console string
	log     Progress
	poll    time.Duration
	timeout time.Duration // --timeout, for messages
}

func (e *endpointVM) reconfigure(ctx context.Context, kv map[string]string) error {
	task, err := e.vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: extraConfig(kv)})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("reconfigure the endpoint VM %q: %w", e.name, err)
	}
	return nil
}

func (e *endpointVM) powerOn(ctx context.Context) error {
	task, err := e.vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isInvalidPowerState(err) {
		return fmt.Errorf("power on the endpoint VM %q: %w", e.name, err)
	}
	return nil
}

func (e *endpointVM) powerOff(ctx context.Context) error {
	state, err := e.vm.PowerState(ctx)
	if err != nil {
		return fmt.Errorf("read the power state of %q: %w", e.name, err)
	}
	if state == types.VirtualMachinePowerStatePoweredOff {
		return nil
	}
	task, err := e.vm.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isInvalidPowerState(err) {
		return fmt.Errorf("power off the endpoint VM %q: %w", e.name, err)
	}
	return nil
}

// read returns the VM's extraConfig and power state.
func (e *endpointVM) read(ctx context.Context) (map[string]string, types.VirtualMachinePowerState, error) {
	var vm mo.VirtualMachine
	if err := e.vm.Properties(ctx, e.vm.Reference(), []string{"config.extraConfig", "runtime.powerState"}, &vm); err != nil {
		return nil, "", err
	}
	extra := map[string]string{}
	if vm.Config != nil {
		for _, o := range vm.Config.ExtraConfig {
			ov := o.GetOptionValue()
			if v, ok := ov.Value.(string); ok {
				extra[ov.Key] = v
			}
		}
	}
	return extra, vm.Runtime.PowerState, nil
}

// waitStatus polls the appliance's status until done accepts it. A failed appliance, a powered-off VM and
// the end of ctx (--timeout) end the wait with an error that says where to look.
func (e *endpointVM) waitStatus(ctx context.Context, what string, done func(*vchwire.ApplianceStatus) bool) (*vchwire.ApplianceStatus, error) {
	start := time.Now()
	var last *vchwire.ApplianceStatus
	for {
		extra, power, err := e.read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return last, e.timedOut(what, start, last)
			}
			return last, fmt.Errorf("read the status of the endpoint VM %q: %w", e.name, err)
		}
		if raw := extra[vchwire.KeyApplianceStatus]; raw != "" {
			var st vchwire.ApplianceStatus
			if err := json.Unmarshal([]byte(raw), &st); err != nil {
				e.log.Debugf("Unreadable appliance status %q: %v", raw, err)
			} else {
				if last == nil || last.State != st.State {
					e.log.Debugf("Appliance state %q (ip %q)", st.State, st.IP)
				}
				last = &st
				if st.State == vchwire.ApplianceFailed {
					return last, e.failed(last)
				}
				if done(last) {
					return last, nil
				}
			}
		}
		if power == types.VirtualMachinePowerStatePoweredOff {
			return last, fmt.Errorf("the endpoint VM %q powered off while waiting for %s; see the appliance's console log %s%s",
				e.name, what, e.console, describeStatus(last))
		}
		select {
		case <-ctx.Done():
			return last, e.timedOut(what, start, last)
		case <-time.After(e.poll):
		}
	}
}

func (e *endpointVM) timedOut(what string, start time.Time, last *vchwire.ApplianceStatus) error {
	limit := ""
	if e.timeout > 0 {
		limit = fmt.Sprintf(" (--timeout %s)", e.timeout)
	}
	return fmt.Errorf("timed out%s after waiting %s for %s%s\nraise --timeout, or look at the appliance's console log %s",
		limit, time.Since(start).Round(100*time.Millisecond), what, describeStatus(last), e.console)
}

func (e *endpointVM) failed(st *vchwire.ApplianceStatus) error {
	msg := st.Error
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Errorf("the appliance failed: %s%s\nsee the appliance's console log %s", msg, describeServices(st), e.console)
}

// describeStatus is the last status for an error message.
func describeStatus(st *vchwire.ApplianceStatus) string {
	if st == nil {
		return "; the appliance reported no status"
	}
	s := fmt.Sprintf("; the appliance's last state was %q", st.State)
	if st.IP != "" {
		s += " at " + st.IP
	}
	if st.Error != "" {
		s += ": " + st.Error
	}
	return s + describeServices(st)
}

func describeServices(st *vchwire.ApplianceStatus) string {
	if st == nil || len(st.Services) == 0 {
		return ""
	}
	var b strings.Builder
	for _, sv := range st.Services {
		fmt.Fprintf(&b, "\n  service %s: %s", sv.Name, sv.State)
		if sv.Restarts > 0 {
			fmt.Fprintf(&b, " (%d restarts)", sv.Restarts)
		}
		if sv.Error != "" {
			fmt.Fprintf(&b, ": %s", sv.Error)
		}
	}
	return b.String()
}

// waitIP waits for the appliance to report its address ("Waiting for IP information").
func (e *endpointVM) waitIP(ctx context.Context) (*vchwire.ApplianceStatus, error) {
	e.log.Infof("Waiting for IP information")
	st, err := e.waitStatus(ctx, "the appliance's IP address", func(st *vchwire.ApplianceStatus) bool { return st.IP != "" })
	if err != nil {
		return st, err
	}
	e.log.Infof("Waiting for IP information: %s", st.IP)
	return st, nil
}

// waitRunning waits for the appliance's services ("Waiting for major appliance components to launch").
func (e *endpointVM) waitRunning(ctx context.Context) (*vchwire.ApplianceStatus, error) {
	e.log.Infof("Waiting for major appliance components to launch")
	return e.waitStatus(ctx, "the appliance's components to launch", func(st *vchwire.ApplianceStatus) bool {
		return st.State == vchwire.ApplianceRunning
	})
}

// destroy powers the VM off and removes it with its files.
func (e *endpointVM) destroy(ctx context.Context) error {
	if err := e.powerOff(ctx); err != nil && !isNotFound(err) {
		return err
	}
	task, err := e.vm.Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("destroy the endpoint VM %q: %w", e.name, err)
	}
	return nil
}
