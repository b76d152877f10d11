package dockerapi_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDockerCLI runs the real docker binary against the API.
func TestDockerCLI(t *testing.T) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not on PATH")
	}
	s := newStack(t)
	_, addr := serve(t, s)
	config := t.TempDir()
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"-H", "tcp://" + addr}, args...)...)
		cmd.Env = append(cleanEnv(), append(env, "DOCKER_CONFIG="+config, "HOME="+config)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	expect := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	vch, err := s.plugin.Client().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := run(nil, "version")
	expect(out, "Server: vice Engine", " Engine:\n  Version:          0.1.0-test",
		"API version:      1.50 (minimum version 1.12)", "Git commit:       c0ffee1", "OS/Arch:          linux/",
		" vice-plugin-vcsim:\n  Version:          "+vch.BackendVersion+"\n")

	out = run([]string{"DOCKER_API_VERSION=1.25"}, "version")
	expect(out, "API version:       1.25 (downgraded from", "Server: vice Engine", "Version:          0.1.0-test")

	out = run(nil, "version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
	expect(out, "1.50 linux")

	out = run(nil, "info")
	expect(out, "Server Version: 0.1.0-test", "Storage Driver: vice-vcsim",
		"Operating System: VMware vCenter Server 6.5.0 build-5973321 (vice)", "OSType: linux",
		"Architecture: x86_64", "CPUs: 6", "Total Memory: 12GiB", "Name: vch-test",
		"VCH pool: /DC0/host/DC0_C0/Resources/vch-test", "Default Runtime: vcsim")
}

// cleanEnv is the test's environment without anything that would point docker elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return env
}
