package simulatortests

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// treeEntry is what a copied tree must keep of each entry.
type treeEntry struct {
	mode   fs.FileMode
	sum    string // regular files
	target string // symlinks
}

// makeTree writes the tree `docker cp` round-trips: a 50 MB file, a symlink, an empty directory, modes.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	big := make([]byte, 50<<20)
	rand.New(rand.NewSource(12)).Read(big)
	for _, d := range []string{"sub/empty", "sub/deep"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, f := range map[string]struct {
		body []byte
		mode fs.FileMode
	}{"big.bin": {big, 0o644}, "sub/run.sh": {[]byte("#!/bin/sh\necho run\n"), 0o755}, "sub/deep/secret": {[]byte("s\n"), 0o600}} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.body, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("deep/secret", filepath.Join(dir, "sub/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "sub/empty"), 0o750); err != nil {
		t.Fatal(err)
	}
}

// readTree describes every entry below dir.
func readTree(t *testing.T, dir string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := treeEntry{mode: info.Mode()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.target, err = os.Readlink(p)
		case info.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			sum := sha256.Sum256(b)
			e.sum = hex.EncodeToString(sum[:])
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree checks that the tree at got is the tree at want, entry by entry.
func sameTree(t *testing.T, what, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	for name, e := range w {
		if g[name] != e {
			t.Errorf("%s: %s is %+v, want %+v", what, name, g[name], e)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: %s was not in the copied tree", what, name)
		}
	}
	if len(w) != 7 {
		t.Errorf("the source tree has %d entries", len(w))
	}
}

// TestCopy is docker cp in both directions, to and from "-", on a running container and on one that never
// ran, with Docker's error for a missing path.
func TestCopy(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	src := filepath.Join(t.TempDir(), "dir")
	makeTree(t, src)

	g.ok(t, "run", "-d", "--name", "running", bb, "sleep", "600")
	g.ok(t, "create", "--name", "never", bb, "true")
	for _, c := range []string{"running", "never"} {
		out := filepath.Join(t.TempDir(), "out")
		g.ok(t, "cp", src, c+":/tmp/")
		g.ok(t, "cp", c+":/tmp/dir", out)
		sameTree(t, c, src, out)
		if got, code := g.run(t, "cp", c+":/nope", t.TempDir()); code != 1 ||
			!strings.Contains(got, "Error response from daemon: Could not find the file /nope in container "+c) {
			t.Errorf("cp of a missing path from %s: exit %d %q", c, code, got)
		}
	}
	if st := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}} {{.State.StartedAt}}", "never")); st != "created 0001-01-01T00:00:00Z" {
		t.Errorf("the copies started the container: %s", st)
	}

	// To and from "-": a tar on stdin, a tar on stdout.
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	_ = tw.WriteHeader(&tar.Header{Name: "piped", Mode: 0o600, Size: 6, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("piped\n"))
	_ = tw.Close()
	for _, c := range []string{"running", "never"} {
		if _, code := g.dockerStdin(t, in.String(), "cp", "-", c+":/tmp"); code != 0 {
			t.Errorf("cp - %s:/tmp exited %d", c, code)
		}
		out, code := g.dockerStdout(t, "cp", c+":/tmp/piped", "-")
		if got := untarOne(t, out); code != 0 || got["piped"] != "piped\n" {
			t.Errorf("cp %s:/tmp/piped - = %d %q", c, code, got)
		}
	}
	out, code := g.dockerStdout(t, "cp", "running:/etc/hostname", "-")
	id := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Id}}", "running"))
	if got := untarOne(t, out); code != 0 || got["hostname"] != id[:12]+"\n" {
		t.Errorf("cp running:/etc/hostname - = %d %q", code, got)
	}
	g.ok(t, "rm", "-f", "running", "never")
}

// untarOne reads a tar's regular files.
func untarOne(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(strings.NewReader(s))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Errorf("read the tar: %v", err)
			return out
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

// TestDiffCommitExport is docker diff, docker commit of a running container (then history, save and load)
// and docker export piped into docker import.
func TestDiffCommitExport(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	// dockerd takes no one-character container names, so c1.
	g.ok(t, "run", "--name", "c1", bb, "sh", "-c", "mkdir /new; touch /etc/x; rm /etc/hostname")
	if got := strings.TrimSpace(g.ok(t, "diff", "c1")); got != "C /etc\nD /etc/hostname\nA /etc/x\nA /new" {
		t.Errorf("docker diff c1 = %q", got)
	}

	g.ok(t, "run", "-d", "--name", "live", bb, "sh", "-c", "echo greetings > /greeting; sleep 600")
	waitLiveFile(t, g, "live", "/greeting")
	imgID := strings.TrimSpace(g.ok(t, "commit", "-c", `CMD ["cat","/greeting"]`, "-c", "ENV K=v", "live", "img:1"))
	if !strings.HasPrefix(imgID, "sha256:") {
		t.Errorf("commit printed %q", imgID)
	}
	if st := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}}", "live")); st != "running" {
		t.Errorf("the committed container is %s", st)
	}
	if got := g.ok(t, "run", "--rm", "img:1"); got != "greetings\n" {
		t.Errorf("docker run --rm img:1 = %q", got)
	}
	if got := strings.TrimSpace(g.ok(t, "run", "--rm", "img:1", "sh", "-c", "echo $K")); got != "v" {
		t.Errorf("the committed image's env: %q", got)
	}
	hist := strings.Split(strings.TrimSpace(g.ok(t, "history", "--no-trunc", "--format", "{{.ID}}\t{{.CreatedBy}}\t{{.Size}}", "img:1")), "\n")
	if len(hist) < 2 || !strings.HasPrefix(hist[0], imgID+"\t"+"sh -c echo greetings > /greeting; sleep 600\t") || strings.HasSuffix(hist[0], "\t0B") {
		t.Errorf("docker history img:1 = %q", hist)
	}
	saved, code := g.dockerStdout(t, "save", "img:1")
	if code != 0 {
		t.Fatalf("save exited %d", code)
	}
	g.ok(t, "rmi", "img:1")
	if out, code := g.dockerStdin(t, saved, "load"); code != 0 || !strings.Contains(out, "Loaded image: img:1") {
		t.Errorf("load = %d %q", code, out)
	}
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Id}}", "img:1")); got != imgID {
		t.Errorf("save | load gave %s, want %s", got, imgID)
	}
	if got := g.ok(t, "run", "--rm", "img:1"); got != "greetings\n" {
		t.Errorf("the loaded image ran %q", got)
	}

	exported, code := g.dockerStdout(t, "export", "c1")
	if code != 0 {
		t.Fatalf("export exited %d", code)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range untarOne(t, exported) {
			if !yield(n) {
				return
			}
		}
	})
	if !slices.Contains(names, "etc/x") || slices.Contains(names, "etc/hostname") || !slices.Contains(names, "bin/busybox") {
		t.Errorf("export of c1: %d entries, %q...", len(names), names[:min(len(names), 10)])
	}
	if out, code := g.dockerStdin(t, exported, "import", "-", "imp:1"); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "sha256:") {
		t.Fatalf("import = %d %q", code, out)
	}
	if got := g.ok(t, "run", "--rm", "imp:1", "ls", "/"); !strings.Contains(got, "new\n") || !strings.Contains(got, "bin\n") {
		t.Errorf("docker run --rm imp:1 ls / = %q", got)
	}
	g.ok(t, "rm", "-f", "c1", "live")
}

// waitLiveFile waits for a running container to have written p.
func waitLiveFile(t *testing.T, g *guestVCH, c, p string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if _, code := g.dockerStdout(t, "cp", c+":"+p, "-"); code == 0 {
			return
		}
	}
	t.Fatalf("%s never wrote %s", c, p)
}
