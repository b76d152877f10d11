package simulatortests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVolumes is issue 14's acceptance through the docker CLI: a named volume's data from one container to
// the next and across an endpoint restart; an image VOLUME (the fixture "configured" has /data) as an
// anonymous volume; a named volume mounted where the image has files gets them; bind mounts of this host's
// paths, read-only too; a tmpfs; removal refused while in use; Capacity; Docker's invalid-name error; a
// second running writer refused; rm -v; prune of unused volumes only; system df -v.
func TestVolumes(t *testing.T) {
	g := startGuestVCH(t)
	bb, cfgd := g.image("busybox"), g.image("configured")

	g.ok(t, "volume", "create", "v1")
	g.ok(t, "run", "--rm", "-v", "v1:/data", bb, "sh", "-c", "echo hi > /data/f")
	if out := g.ok(t, "run", "--rm", "-v", "v1:/data", bb, "cat", "/data/f"); out != "hi\n" {
		t.Errorf("the second container read %q", out)
	}
	g.restartEngine(t)
	if out, code := g.run(t, "run", "--rm", "-v", "v1:/data:ro", bb, "sh", "-c", "cat /data/f; touch /data/g"); code != 1 || !strings.Contains(out, "hi\n") || !strings.Contains(out, "Read-only file system") {
		t.Errorf("after an endpoint restart, read-only: %d %q", code, out)
	}

	// The image's VOLUME /data: an anonymous volume, with the image's files; dangling once its container is gone.
	id := strings.TrimSpace(g.ok(t, "create", cfgd, "ls", "/data"))
	var mounts []struct{ Type, Name, Destination string }
	if err := json.Unmarshal([]byte(g.ok(t, "inspect", "-f", "{{json .Mounts}}", id)), &mounts); err != nil || len(mounts) != 1 ||
		mounts[0].Type != "volume" || len(mounts[0].Name) != 64 || mounts[0].Destination != "/data" {
		t.Fatalf("Mounts of a container of an image with VOLUME /data: %+v %v", mounts, err)
	}
	anon := mounts[0].Name
	if out := g.ok(t, "volume", "ls", "-q", "-f", "dangling=false"); !strings.Contains(out, anon) {
		t.Errorf("the anonymous volume is not in use: %q", out)
	}
	g.ok(t, "rm", id)
	if out := g.ok(t, "volume", "ls", "-q", "-f", "dangling=true"); !strings.Contains(out, anon) {
		t.Errorf("the anonymous volume of a removed container is not dangling: %q", out)
	}
	id = strings.TrimSpace(g.ok(t, "create", cfgd, "true"))
	other := g.ok(t, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", id)
	g.ok(t, "rm", "-v", id)
	if out := g.ok(t, "volume", "ls", "-q"); strings.Contains(out, strings.TrimSpace(other)) {
		t.Errorf("rm -v left the anonymous volume %s: %q", other, out)
	}

	// --mount type=volume, and --volumes-from (read-only as asked) of a container that has it.
	g.ok(t, "create", "--name", "source", "--mount", "type=volume,source=v1,target=/shared", bb, "true")
	if out, code := g.run(t, "run", "--rm", "--volumes-from", "source:ro", bb, "sh", "-c", "cat /shared/f; touch /shared/x"); code != 1 ||
		!strings.Contains(out, "hi\n") || !strings.Contains(out, "Read-only file system") {
		t.Errorf("--volumes-from source:ro: %d %q", code, out)
	}
	g.ok(t, "rm", "source")

	// A named volume mounted over the image's /bin gets the image's files the first time.
	g.ok(t, "volume", "create", "binvol")
	if out := g.ok(t, "run", "--rm", "-v", "binvol:/bin", bb, "/bin/busybox", "ls", "/bin/busybox"); out != "/bin/busybox\n" {
		t.Errorf("a fresh volume over /bin: %q", out)
	}

	// Bind mounts of this host's paths; a tmpfs.
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hostfile"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := g.ok(t, "run", "--rm", "-v", host+":/h", bb, "ls", "/h"); out != "hostfile\n" {
		t.Errorf("bind mount: %q", out)
	}
	if out, code := g.run(t, "run", "--rm", "-v", host+":/h:ro", bb, "touch", "/h/new"); code == 0 || !strings.Contains(out, "Read-only file system") {
		t.Errorf("read-only bind mount: %d %q", code, out)
	}
	made := filepath.Join(host, "made", "by", "run")
	g.ok(t, "run", "--rm", "-v", made+":/m", bb, "true")
	if st, err := os.Stat(made); err != nil || !st.IsDir() {
		t.Errorf("-v with a missing host path did not make it: %v", err)
	}
	if out, code := g.run(t, "run", "--rm", "--mount", "type=bind,source="+host+"/nope,target=/n", bb, "true"); code != 125 ||
		!strings.Contains(out, `invalid mount config for type "bind": bind source path does not exist: `+host+"/nope") {
		t.Errorf("--mount of a missing source: %d %q", code, out)
	}
	if out := g.ok(t, "run", "--rm", "--tmpfs", "/t:size=1m", bb, "grep", " /t ", "/proc/mounts"); !strings.HasPrefix(out, "tmpfs /t tmpfs ") || !strings.Contains(out, "size=1024k") {
		t.Errorf("tmpfs: %q", out)
	}

	// In use: removal refused; a second running writer refused, clearly.
	g.ok(t, "run", "-d", "--name", "holder", "-v", "v1:/data", bb, "sleep", "300")
	if out, code := g.run(t, "volume", "rm", "v1"); code == 0 || !strings.Contains(out, "remove v1: volume is in use - [") {
		t.Errorf("volume rm of a volume in use: %d %q", code, out)
	}
	if out, code := g.run(t, "run", "--rm", "-v", "v1:/data", bb, "true"); code != 125 || !strings.Contains(out, "volume v1 is in use by running container holder") {
		t.Errorf("a second running writer: %d %q", code, out)
	}
	g.ok(t, "rm", "-f", "holder")

	// Capacity, and Docker's invalid name.
	g.ok(t, "volume", "create", "--opt", "Capacity=2GB", "v2")
	if out := g.ok(t, "volume", "inspect", "-f", "{{.Options.Capacity}} {{.Status.Capacity}} {{.Driver}}", "v2"); out != "2GB 2GB vsphere\n" {
		t.Errorf("volume inspect v2: %q", out)
	}
	desc, err := os.ReadFile(filepath.Join(g.dir, "datastore", "volumes", "volumes", "v2", "v2.vmdk"))
	if err != nil || !strings.Contains(string(desc), "RW 4194304 ") {
		t.Errorf("v2's disk is not 2 GB: %v\n%s", err, desc)
	}
	if out, code := g.run(t, "volume", "create", "bad?name"); code == 0 || !strings.Contains(out,
		`create bad?name: "bad?name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`) {
		t.Errorf("bad?name: %d %q", code, out)
	}
	g.ok(t, "volume", "create", "v2") // an existing name is no error

	// system df -v lists them; prune -f takes the unused anonymous ones only, prune -af every unused one.
	g.ok(t, "run", "-d", "--name", "user", "-v", "v1:/data", bb, "sleep", "300")
	if out := g.ok(t, "system", "df", "-v"); !strings.Contains(out, "Local Volumes space usage") || !strings.Contains(out, "v2 ") || !strings.Contains(out, anon) {
		t.Errorf("system df -v:\n%s", out)
	}
	out := g.ok(t, "volume", "prune", "-f")
	if !strings.Contains(out, anon) || strings.Contains(out, "v2") || strings.Contains(out, "v1") {
		t.Errorf("volume prune -f:\n%s", out)
	}
	out = g.ok(t, "volume", "prune", "-af")
	if !strings.Contains(out, "v2") || !strings.Contains(out, "binvol") || strings.Contains(out, "v1") {
		t.Errorf("volume prune -af:\n%s", out)
	}
	if out := g.ok(t, "volume", "ls", "-q"); out != "v1\n" {
		t.Errorf("volumes after the prunes: %q", out)
	}
	g.ok(t, "rm", "-f", "user")
	g.ok(t, "volume", "rm", "v1")
}
