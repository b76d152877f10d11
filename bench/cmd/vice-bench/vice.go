package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startRegistry starts vice-registry seeded with busybox and the 256 MB five-layer image; the channel
// closes when seeding is done (it prints REGISTRY=... then). Both engines pull from it.
func (h *harness) startRegistry() (<-chan struct{}, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	h.reg = addr
	w := newLineWatch("REGISTRY=")
	if _, err := h.startDaemon("registry", "vice-registry", w, filepath.Join(h.bin, "vice-registry"),
		"--listen", addr, "--big"); err != nil {
		return nil, err
	}
	logf("vice-registry on %s: seeding busybox and big (256 MB, 5 layers) in the background", addr)
	return w.ready, nil
}

// startVice starts a VCH the way scripts/run.sh does, on private ports and directories: vice-vcsim (the
// simulated vSphere and its hypervisor emulator), then vice-engine with the vcsim plugin registered.
func (h *harness) startVice(ctx context.Context) error {
	dir := filepath.Join(h.dir, "vice")
	for _, d := range []string{"datastore", "plugins", "guests"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	vcsimAddr, err := freePort()
	if err != nil {
		return err
	}
	urlFile := filepath.Join(dir, "vcsim.url")
	vcsimBin := filepath.Join(h.bin, "vice-vcsim")
	args := []string{"--listen", vcsimAddr, "--datastore-dir", filepath.Join(dir, "datastore"), "--url-file", urlFile}
	// Flags are added as the binaries grow them: the harness runs against whatever is built today.
	if hasFlag(vcsimBin, "run-dir") {
		args = append(args, "--run-dir", filepath.Join(dir, "guests"))
	}
	vcsim, err := h.startDaemon("vice", "vice-vcsim", nil, vcsimBin, args...)
	if err != nil {
		return err
	}
	url, err := waitFile(ctx, urlFile, vcsim, 30*time.Second)
	if err != nil {
		return err
	}

	plugin := filepath.Join(h.bin, "vice-plugin-vcsim")
	pargs := []string{"--target", url, "--name", "virtual-container-host"}
	if iso := filepath.Join(h.bin, "bootstrap.iso"); hasFlag(plugin, "bootstrap-iso") && exists(iso) {
		pargs = append(pargs, "--bootstrap-iso", iso)
	}
	if hasFlag(plugin, "attach-listen") {
		attach, err := freePort()
		if err != nil {
			return err
		}
		pargs = append(pargs, "--attach-listen", attach)
	}
	if err := writeManifest(filepath.Join(dir, "plugins", "vcsim.json"), plugin, pargs); err != nil {
		return err
	}
	h.meta["vice_plugin_args"] = strings.Join(pargs[2:], " ") // the target URL holds credentials

	engineAddr, err := freePort()
	if err != nil {
		return err
	}
	engine, err := h.startDaemon("vice", "vice-engine", nil, filepath.Join(h.bin, "vice-engine"),
		"-H", "tcp://"+engineAddr, "-H", "unix://"+filepath.Join(dir, "docker.sock"),
		"--plugins-dir", filepath.Join(dir, "plugins"))
	if err != nil {
		return err
	}
	// The CLI reaches both engines the same way, over a unix socket, so the transport to the engine costs
	// the same on both sides (over loopback TCP every CLI run also pays a connect and its round trips).
	sock := filepath.Join(dir, "docker.sock")
	h.vice = &side{name: "vice", host: "unix://" + sock, dial: dialer("unix", sock)}
	if err := h.waitCLI(ctx, h.vice, engine, 3*time.Minute); err != nil {
		return err
	}
	logf("vice-engine answers on %s and tcp://%s (vice-vcsim on %s)", h.vice.host, engineAddr, vcsimAddr)
	return nil
}

func writeManifest(path, plugin string, args []string) error {
	sum, err := exec.Command("sha256sum", plugin).Output()
	if err != nil {
		return fmt.Errorf("sha256sum %s: %w", plugin, err)
	}
	m := map[string]any{"name": "vcsim", "path": plugin, "sha256": strings.Fields(string(sum))[0],
		"apiVersion": 1, "args": args}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// hasFlag tells whether a Go binary's -h output lists a flag.
func hasFlag(bin, name string) bool {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	return strings.Contains(string(out), "-"+name+" ") || strings.Contains(string(out), "-"+name+"\n")
}

// waitFile waits until a daemon has written a non-empty file and returns its trimmed contents.
func waitFile(ctx context.Context, path string, d *daemon, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for ctx.Err() == nil && time.Now().Before(deadline) && !d.exited() {
		if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("%s did not write %s; see its log in %s", d.name, path, filepath.Dir(filepath.Dir(path)))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
