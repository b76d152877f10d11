package backendtest

import (
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/archive"
)

// usage is the container's disk usage, failing the test on an error.
func (s *suite) usage(t *testing.T, id string) int64 {
	t.Helper()
	resp, err := s.pl.Archive.GetContainerUsage(archive.NewGetContainerUsageParamsWithContext(ctx(t)).WithID(id))
	if err != nil {
		t.Fatalf("usage of %s: %v", id, errText(err))
	}
	return resp.Payload.SizeRw
}

// A container's disk usage is what it wrote, counted as Docker counts an overlay2 upper layer: nothing for a
// container that never ran (the guest's boot files are not its own writes), then the sizes of its files, a
// hard link once, a symlink as long as its target, directories and deletions nothing; measured from a
// stopped container's disk and from a running one's.
func (s *suite) testUsage(t *testing.T) {
	created := s.create(t, sh("true"))
	if n := s.usage(t, *created.ID); n != 0 {
		t.Errorf("a container that never ran uses %d bytes, want 0", n)
	}

	c := s.run(t, sh(`head -c 1000 /dev/zero > /a && ln /a /b && ln -s /a /c && mkdir -p /d/e && rm /bin/true`))
	s.exited(t, *c.ID, 0)
	if n := s.usage(t, *c.ID); n != 1000+2 {
		t.Errorf("a stopped container that wrote 1000 bytes, a hard link to them and a symlink to /a uses %d bytes, want 1002", n)
	}

	r := s.run(t, sh(`head -c 300 /dev/zero > /r && echo ready && while :; do sleep 1; done`))
	s.waitLog(t, *r.ID, "ready")
	if n := s.usage(t, *r.ID); n != 300 {
		t.Errorf("a running container that wrote 300 bytes uses %d bytes", n)
	}
}
