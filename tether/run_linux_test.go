package tether_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vice-engine/vice/tether/wire"
)

// TestRun runs one-shot containers and checks what the VCH sees afterwards: the output log, the status
// in guestinfo, and that the tether powered off.
func TestRun(t *testing.T) {
	cases := []struct {
		name       string
		cfg        wire.ContainerConfig
		wantCode   int
		wantStdout string // exact, unless contains is set
		contains   []string
		wantStderr string
		wantError  string
	}{
		{name: "echo", cfg: wire.ContainerConfig{Path: "echo", Args: []string{"hello"}}, wantStdout: "hello\n"},
		{name: "exit code", cfg: wire.ContainerConfig{Path: "sh", Args: []string{"-c", "exit 3"}}, wantCode: 3},
		{name: "not found", cfg: wire.ContainerConfig{Path: "/nonexistent"}, wantCode: 127,
			wantError: `exec: "/nonexistent": stat /nonexistent: no such file or directory`},
		{name: "not on PATH", cfg: wire.ContainerConfig{Path: "nosuchcmd"}, wantCode: 127,
			wantError: `exec: "nosuchcmd": executable file not found in $PATH`},
		{name: "not executable", cfg: wire.ContainerConfig{Path: "/etc/passwd"}, wantCode: 126,
			wantError: `exec: "/etc/passwd": permission denied`},
		{name: "env", cfg: wire.ContainerConfig{Path: "env", Env: []string{"FOO=bar"}},
			contains: []string{"FOO=bar\n", "HOME=/root\n", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"}},
		{name: "workdir", cfg: wire.ContainerConfig{Path: "pwd", WorkingDir: "/tmp/made/here"},
			wantStdout: "/tmp/made/here\n"},
		{name: "user", cfg: wire.ContainerConfig{Path: "id", User: "nobody"},
			wantStdout: "uid=65534(nobody) gid=65534(nogroup) groups=50(staff),65534(nogroup)\n"},
		{name: "user and group", cfg: wire.ContainerConfig{Path: "id", User: "1000:50"},
			wantStdout: "uid=1000 gid=50(staff) groups=50(staff)\n"},
		{name: "home of user", cfg: wire.ContainerConfig{Path: "sh", Args: []string{"-c", "echo $HOME"}, User: "nobody"},
			wantStdout: "/nonexistent\n"},
		{name: "unknown user", cfg: wire.ContainerConfig{Path: "id", User: "nobody2"}, wantCode: 128,
			wantError: "unable to find user nobody2: no matching entries in passwd file"},
		{name: "hostname", cfg: wire.ContainerConfig{Path: "hostname", Hostname: "box1"}, wantStdout: "box1\n"},
		{name: "hostname file", cfg: wire.ContainerConfig{Path: "cat", Args: []string{"/etc/hostname"}, Hostname: "box1"},
			wantStdout: "box1\n"},
		{name: "hosts and resolv.conf", cfg: wire.ContainerConfig{Path: "cat", Args: []string{"/etc/hosts", "/etc/resolv.conf"},
			Hostname: "box1", ExtraHosts: []string{"db:10.0.0.2"}, DNS: []string{"10.0.0.53"}, DNSSearch: []string{"example.com"}},
			contains: []string{"127.0.0.1\tlocalhost\n", "127.0.1.1\tbox1\n", "10.0.0.2\tdb\n",
				"nameserver 10.0.0.53\n", "search example.com\n"}},
		{name: "stderr", cfg: wire.ContainerConfig{Path: "sh", Args: []string{"-c", "echo out; echo err >&2"}},
			wantStdout: "out\n", wantStderr: "err\n"},
		{name: "partial line", cfg: wire.ContainerConfig{Path: "printf", Args: []string{"no newline"}},
			wantStdout: "no newline"},
		{name: "mounts", cfg: wire.ContainerConfig{Path: "sh", Args: []string{"-c",
			"ls -l /dev/null /dev/ptmx | cut -c1; grep -c ' /proc \\| /sys \\| /dev/pts \\| /dev/shm ' /proc/mounts; grep ' /sys ' /proc/mounts | grep -c ro,"}},
			wantStdout: "c\nl\n4\n1\n"},
		{name: "orphans", cfg: wire.ContainerConfig{Path: "sh", Args: []string{"-c", "sleep 1 & exec true"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := startGuest(t, tc.cfg)
			g.wait()
			st := g.status()
			if st.State != wire.StateExited || st.ExitCode != tc.wantCode || st.Error != tc.wantError {
				t.Errorf("status %+v, want exited %d %q", st, tc.wantCode, tc.wantError)
			}
			stdout := g.streamText("stdout")
			if tc.contains != nil {
				for _, want := range tc.contains {
					if !strings.Contains(stdout, want) {
						t.Errorf("stdout %q lacks %q", stdout, want)
					}
				}
			} else if stdout != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout, tc.wantStdout)
			}
			if stderr := g.streamText("stderr"); stderr != tc.wantStderr {
				t.Errorf("stderr %q, want %q", stderr, tc.wantStderr)
			}
		})
	}
}

// TestRunLogOrder: what the process writes to stdout and stderr in turn is logged in the order written, a
// record per line with its stream (as Docker's json-file logs it, the Python SDK's logs() joining them),
// whichever stream it starts with.
func TestRunLogOrder(t *testing.T) {
	for _, first := range []string{"out", "err"} {
		t.Run(first+" first", func(t *testing.T) {
			echo := map[string]string{"out": "echo o$i", "err": "echo e$i >&2"}
			second := map[string]string{"out": "err", "err": "out"}[first]
			g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c",
				"for i in 1 2 3 4 5 6; do " + echo[first] + "; " + echo[second] + "; done"}})
			g.wait()
			var got, want []string
			for _, r := range g.records() {
				got = append(got, r.Stream[3:]+":"+r.Log)
			}
			for i := 1; i <= 6; i++ {
				for _, s := range []string{first, second} {
					want = append(want, fmt.Sprintf("%s:%s%d\n", s, s[:1], i))
				}
			}
			if strings.Join(got, "") != strings.Join(want, "") {
				t.Errorf("log records %q, want %q", got, want)
			}
		})
	}
}
