package backendtest

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/archive"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The archive group: a container's filesystem read and written while it runs (through its guest), before it
// ever ran and after it exited (from its disk), its changes, its diff and its export.

// sIFMT and the file types of PathStat.Mode (POSIX st_mode).
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
)

func (s *suite) statPath(t *testing.T, id, p string) (*models.PathStat, error) {
	t.Helper()
	resp, err := s.pl.Archive.StatPath(archive.NewStatPathParamsWithContext(ctx(t)).WithID(id).WithPath(p))
	if err != nil {
		return nil, err
	}
	return resp.Payload, nil
}

// readArchive returns the tar of p as entry names ("name -> link" for links) and regular files' contents.
func (s *suite) readArchive(t *testing.T, id, p string) ([]string, map[string]string, error) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.pl.Archive.ReadArchive(archive.NewReadArchiveParamsWithContext(ctx(t)).WithID(id).WithPath(p), &buf); err != nil {
		return nil, nil, err
	}
	names, bodies := untar(t, buf.Bytes())
	return names, bodies, nil
}

func untar(t *testing.T, b []byte) ([]string, map[string]string) {
	t.Helper()
	var names []string
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, bodies
		}
		if err != nil {
			t.Fatalf("read the tar: %v", err)
		}
		name := h.Name
		if h.Linkname != "" {
			name += " -> " + h.Linkname
		}
		names = append(names, name)
		if h.Typeflag == tar.TypeReg {
			body, _ := io.ReadAll(tr)
			bodies[h.Name] = string(body)
		}
	}
}

func (s *suite) writeArchive(t *testing.T, id, p string, tarball []byte, noOverwrite bool) error {
	t.Helper()
	params := archive.NewWriteArchiveParamsWithContext(ctx(t)).WithID(id).WithPath(p).
		WithArchive(io.NopCloser(bytes.NewReader(tarball)))
	if noOverwrite {
		params.SetNoOverwriteDirNonDir(&noOverwrite)
	}
	_, err := s.pl.Archive.WriteArchive(params)
	return err
}

func (s *suite) changes(t *testing.T, id string) []string {
	t.Helper()
	resp, err := s.pl.Archive.GetContainerChanges(archive.NewGetContainerChangesParamsWithContext(ctx(t)).WithID(id))
	if err != nil {
		t.Fatalf("changes of %s: %v", id, errText(err))
	}
	kinds := map[string]string{"modified": "C", "added": "A", "deleted": "D"}
	var out []string
	for _, c := range resp.Payload {
		out = append(out, kinds[c.Kind]+" "+c.Path)
	}
	return out
}

func (s *suite) diffNames(t *testing.T, id string) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.pl.Archive.ReadContainerDiff(archive.NewReadContainerDiffParamsWithContext(ctx(t)).WithID(id), &buf); err != nil {
		t.Fatalf("diff of %s: %v", id, errText(err))
	}
	names, _ := untar(t, buf.Bytes())
	return names
}

func (s *suite) exportNames(t *testing.T, id string) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.pl.Archive.ExportContainer(archive.NewExportContainerParamsWithContext(ctx(t)).WithID(id), &buf); err != nil {
		t.Fatalf("export of %s: %v", id, errText(err))
	}
	names, _ := untar(t, buf.Bytes())
	return names
}

// dataTree is what the tests copy in: a directory with a file, an empty directory and a symlink.
func dataTree(t *testing.T) []byte {
	return tarOf(t, []tarEntry{
		{typ: tar.TypeDir, name: "in/", mode: 0o755},
		{typ: tar.TypeReg, name: "in/f", mode: 0o640, body: "copied in\n"},
		{typ: tar.TypeDir, name: "in/empty/", mode: 0o700},
		{typ: tar.TypeSymlink, name: "in/l", mode: 0o777, link: "f"},
	})
}

// checkFilesystem copies dataTree into the container, then reads it back and checks the errors, whatever
// the container's state.
func (s *suite) checkFilesystem(t *testing.T, id string) {
	t.Helper()
	if err := s.writeArchive(t, id, "/tmp", dataTree(t), true); err != nil {
		t.Fatalf("write into /tmp: %v", errText(err))
	}
	st, err := s.statPath(t, id, "/tmp/in/l")
	if err != nil || st.Name != "l" || st.Mode&sIFMT != sIFLNK || st.LinkTarget != "/tmp/in/f" {
		t.Errorf("stat /tmp/in/l = %+v, %v", st, errText(err))
	}
	if st, err := s.statPath(t, id, "/tmp/in/f"); err != nil || st.Mode&0o7777 != 0o640 || st.Mode&sIFMT != sIFREG || st.Size != 10 {
		t.Errorf("stat /tmp/in/f = %+v, %v", st, errText(err))
	}
	if st, err := s.statPath(t, id, "/tmp/in/."); err != nil || st.Name != "." || st.Mode&sIFMT != sIFDIR {
		t.Errorf("stat /tmp/in/. = %+v, %v", st, errText(err))
	}
	names, bodies, err := s.readArchive(t, id, "/tmp/in")
	if err != nil {
		t.Fatalf("read /tmp/in: %v", errText(err))
	}
	if want := []string{"in/", "in/empty/", "in/f", "in/l -> f"}; !slices.Equal(names, want) || bodies["in/f"] != "copied in\n" {
		t.Errorf("tar of /tmp/in = %q %q, want %q", names, bodies, want)
	}
	if names, _, _ := s.readArchive(t, id, "/tmp/in/."); !slices.Equal(names, []string{"./", "./empty/", "./f", "./l -> f"}) {
		t.Errorf("tar of /tmp/in/. = %q", names)
	}
	if names, _, _ := s.readArchive(t, id, "/bin/sh"); !slices.Equal(names, []string{"sh -> busybox"}) {
		t.Errorf("tar of the symlink /bin/sh = %q", names)
	}

	_, err = s.statPath(t, id, "/nope")
	wantClass(t, err, http.StatusNotFound, "not_found")
	_, _, err = s.readArchive(t, id, "/nope")
	wantClass(t, err, http.StatusNotFound, "not_found")
	err = s.writeArchive(t, id, "/nope", dataTree(t), false)
	wantClass(t, err, http.StatusNotFound, "not_found")
	err = s.writeArchive(t, id, "/tmp/in/f", dataTree(t), false)
	wantClass(t, err, http.StatusBadRequest, "invalid")
	// A file onto a directory breaks noOverwriteDirNonDir.
	fileOnDir := tarOf(t, []tarEntry{{typ: tar.TypeReg, name: "in/empty", mode: 0o644, body: "x"}})
	err = s.writeArchive(t, id, "/tmp", fileOnDir, true)
	wantClass(t, err, http.StatusBadRequest, "invalid")
}

// testArchiveRunning reads and writes a running container's filesystem: what the process made is seen, what
// is copied in the process sees.
func (s *suite) testArchiveRunning(t *testing.T) {
	c := s.run(t, sh(`mkdir /made && echo made > /made/f && echo ready; while :; do if [ -f /tmp/in/f ]; then cat /tmp/in/f; sleep 600; fi; sleep 0.2; done`))
	s.waitLog(t, *c.ID, "ready")
	s.checkFilesystem(t, *c.ID)
	s.waitLog(t, *c.ID, "copied in")
	if _, bodies, err := s.readArchive(t, *c.ID, "/made/f"); err != nil || bodies["f"] != "made\n" {
		t.Errorf("what the process wrote: %q, %v", bodies, errText(err))
	}
	want := []string{"A /made", "A /made/f", "C /tmp", "A /tmp/in", "A /tmp/in/empty", "A /tmp/in/f", "A /tmp/in/l"}
	if got := s.changes(t, *c.ID); !slices.Equal(got, want) {
		t.Errorf("changes of a running container %q, want %q", got, want)
	}
	diff := s.diffNames(t, *c.ID)
	for _, n := range []string{"made/f", "tmp/in/f"} {
		if !slices.Contains(diff, n) {
			t.Errorf("the diff lacks %s: %q", n, diff)
		}
	}
	if slices.ContainsFunc(diff, func(n string) bool { return strings.HasPrefix(n, "etc/host") }) {
		t.Errorf("the diff has the guest's own files: %q", diff)
	}
	exported := s.exportNames(t, *c.ID)
	for _, n := range []string{"made/f", "tmp/in/f", "bin/busybox", "etc/passwd", "proc/"} {
		if !slices.Contains(exported, n) {
			t.Errorf("the export lacks %s", n)
		}
	}
	if slices.ContainsFunc(exported, func(n string) bool { return strings.HasPrefix(n, "proc/") && n != "proc/" }) {
		t.Error("the export descended into /proc")
	}
}

// testArchiveCreated copies into a container that never ran, which then runs with what was copied, and
// reads it back after it exited.
func (s *suite) testArchiveCreated(t *testing.T) {
	c := s.create(t, sh(`cat /tmp/in/f; rm /etc/group; echo new > /etc/new`))
	s.checkFilesystem(t, *c.ID)
	if st := s.get(t, *c.ID).State; *st.Status != "created" || st.Boot != 0 {
		t.Fatalf("the copies started the container: %s", stateText(st))
	}
	s.start(t, *c.ID)
	s.exited(t, *c.ID, 0)
	s.waitLog(t, *c.ID, "copied in")
	want := []string{"C /etc", "D /etc/group", "A /etc/new", "C /tmp", "A /tmp/in", "A /tmp/in/empty", "A /tmp/in/f", "A /tmp/in/l"}
	if got := s.changes(t, *c.ID); !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
	if _, bodies, err := s.readArchive(t, *c.ID, "/etc/new"); err != nil || bodies["new"] != "new\n" {
		t.Errorf("read of an exited container: %q, %v", bodies, errText(err))
	}
	if diff := s.diffNames(t, *c.ID); !slices.Contains(diff, "etc/.wh.group") || !slices.Contains(diff, "etc/new") {
		t.Errorf("diff %q lacks the whiteout or the new file", diff)
	}
	exported := s.exportNames(t, *c.ID)
	if !slices.Contains(exported, "etc/new") || slices.Contains(exported, "etc/group") {
		t.Errorf("export of an exited container: %q", exported)
	}
}

// testArchiveErrors: an unknown container is not found for every operation of the group.
func (s *suite) testArchiveErrors(t *testing.T) {
	id := newID()
	_, err := s.statPath(t, id, "/")
	wantClass(t, err, http.StatusNotFound, "not_found")
	_, _, err = s.readArchive(t, id, "/")
	wantClass(t, err, http.StatusNotFound, "not_found")
	err = s.writeArchive(t, id, "/", dataTree(t), false)
	wantClass(t, err, http.StatusNotFound, "not_found")
	_, err = s.pl.Archive.GetContainerChanges(archive.NewGetContainerChangesParamsWithContext(ctx(t)).WithID(id))
	wantClass(t, err, http.StatusNotFound, "not_found")
	_, err = s.pl.Archive.ExportContainer(archive.NewExportContainerParamsWithContext(ctx(t)).WithID(id), io.Discard)
	wantClass(t, err, http.StatusNotFound, "not_found")
}
