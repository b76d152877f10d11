// Command appliance is the /init of the emulator's appliance tests: it reads the appliance config through
// the guestinfo socket, reports what it sees of its machine (vchwire.GuestPrefix + "test.report"), greets
// whoever connects to its address on the admin port, and runs until killed. A config named "halt" makes
// it exit instead, as a halting appliance would. "child" runs a second process of the guest, which sleeps.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/wire"
)

// Report is what the test checks; plugins/vcsim's tests decode it with the same field names.
type Report struct {
	Pid          int               `json:"pid"`
	ChildPid     int               `json:"childPid"`
	Env          map[string]string `json:"env"`
	Version      string            `json:"version"`
	RootReadOnly bool              `json:"rootReadOnly"`
	StateIsDir   bool              `json:"stateIsDir"`
	FD3          string            `json:"fd3"`
	FD4          string            `json:"fd4"`
	RootShared   bool              `json:"rootShared"` // "/" propagates to a peer group (it must not)
	ConfigName   string            `json:"configName"`
	SecretKey    string            `json:"secretKey"` // vchwire.KeySecretKey as the guest reads it
	Err          string            `json:"err,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		for {
			time.Sleep(time.Hour)
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "appliance test init:", err)
		os.Exit(1)
	}
}

func run() error {
	gi := os.NewFile(wire.FDGuestInfo, "guestinfo")
	rd := bufio.NewReader(gi)
	call := func(req wire.GuestInfoRequest) (wire.GuestInfoReply, error) {
		var r wire.GuestInfoReply
		b, _ := json.Marshal(req)
		if _, err := gi.Write(append(b, '\n')); err != nil {
			return r, err
		}
		line, err := rd.ReadBytes('\n')
		if err != nil {
			return r, err
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return r, err
		}
		if r.Error != "" {
			return r, errors.New(r.Error)
		}
		return r, nil
	}

	rep := Report{Pid: os.Getpid(), Env: map[string]string{}}
	for _, k := range []string{wire.EmulatorEnv, vchwire.ApplianceRootEnv, vchwire.ApplianceStateEnv, vchwire.GuestIPEnv, "PATH", "TMPDIR"} {
		rep.Env[k] = os.Getenv(k)
	}
	root, state, ip := os.Getenv(vchwire.ApplianceRootEnv), os.Getenv(vchwire.ApplianceStateEnv), os.Getenv(vchwire.GuestIPEnv)
	v, _ := os.ReadFile(filepath.Join(root, "VERSION"))
	rep.Version = strings.TrimSpace(string(v))
	err := os.WriteFile(filepath.Join(root, "written"), []byte("x"), 0o644)
	rep.RootReadOnly = errors.Is(err, syscall.EROFS)
	if st, err := os.Stat(state); err == nil && st.IsDir() {
		rep.StateIsDir = true
	}
	rep.FD3, _ = os.Readlink("/proc/self/fd/3")
	rep.FD4, _ = os.Readlink("/proc/self/fd/4")
	rep.RootShared = rootShared()

	if r, err := call(wire.GuestInfoRequest{Op: "get", Key: vchwire.KeyAppliance}); err == nil && r.Found {
		var cfg vchwire.ApplianceConfig
		if err := json.Unmarshal([]byte(r.Value), &cfg); err == nil {
			rep.ConfigName = cfg.Name
		}
	} else if err != nil {
		rep.Err = err.Error()
	}

	if r, err := call(wire.GuestInfoRequest{Op: "get", Key: vchwire.KeySecretKey}); err == nil && r.Found {
		rep.SecretKey = r.Value
	} else if err != nil {
		rep.Err = err.Error()
	}

	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(vchwire.PortAdmin)))
	if err != nil {
		rep.Err = err.Error()
	} else {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "hello from %s\n", rep.ConfigName)
				c.Close()
			}
		}()
	}
	child := exec.Command("/proc/self/exe", "child")
	if err := child.Start(); err == nil {
		rep.ChildPid = child.Process.Pid
	}

	b, _ := json.Marshal(rep)
	if _, err := call(wire.GuestInfoRequest{Op: "set", Key: vchwire.GuestPrefix + "test.report", Value: string(b)}); err != nil {
		return err
	}
	fmt.Printf("appliance init pid=%d ip=%s name=%s\n", os.Getpid(), ip, rep.ConfigName)
	if rep.ConfigName == "halt" {
		return nil
	}
	for {
		time.Sleep(time.Hour)
	}
}

// rootShared reads this mount namespace's "/" entry: a "shared:N" optional field means mounts made here
// would propagate to the host.
func rootShared() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && f[4] == "/" {
			for _, opt := range f[6:] {
				if opt == "-" {
					break
				}
				if strings.HasPrefix(opt, "shared:") {
					return true
				}
			}
		}
	}
	return false
}
