package backendtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/client/storage"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// testVolumes runs the volume operations against the backend's "default" volume store: create, the name in
// use, a bad name, an unknown store, inspect with usage, list, remove twice. A backend given no store only
// says so.
func testVolumes(t *testing.T, pl *client.Portlayer) {
	stores, err := pl.Storage.ListVolumeStores(storage.NewListVolumeStoresParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatal(errText(err))
	}
	if !hasDefaultStore(stores.Payload) {
		_, err := pl.Storage.CreateVolume(storage.NewCreateVolumeParamsWithContext(ctx(t)).WithSpec(&models.VolumeSpec{Name: "nostore"}))
		wantClass(t, err, http.StatusNotFound, "not_found")
		t.Skip("the backend has no default volume store")
	}
	name := volumeName()
	created := createVolume(t, pl, &models.VolumeSpec{Name: name, CapacityMB: 64, Labels: map[string]string{"suite": "conformance"},
		Annotations: map[string]string{"core": "record"}})
	if created.Name != name || created.Store != "default" || created.CapacityBytes != 64<<20 || created.FsType != "ext4" ||
		created.Labels["suite"] != "conformance" || created.Annotations["core"] != "record" || created.Location == "" {
		t.Errorf("created %+v", created)
	}
	_, err = pl.Storage.CreateVolume(storage.NewCreateVolumeParamsWithContext(ctx(t)).WithSpec(&models.VolumeSpec{Name: name}))
	wantClass(t, err, http.StatusConflict, "conflict")
	_, err = pl.Storage.CreateVolume(storage.NewCreateVolumeParamsWithContext(ctx(t)).WithSpec(&models.VolumeSpec{Name: "bad?name"}))
	wantClass(t, err, http.StatusBadRequest, "invalid")
	_, err = pl.Storage.CreateVolume(storage.NewCreateVolumeParamsWithContext(ctx(t)).WithSpec(&models.VolumeSpec{Name: volumeName(), Store: "no-such-store"}))
	wantClass(t, err, http.StatusNotFound, "not_found")

	usage := true
	got, err := pl.Storage.GetVolume(storage.NewGetVolumeParamsWithContext(ctx(t)).WithName(name).WithUsage(&usage))
	if err != nil {
		t.Fatal(errText(err))
	}
	if got.Payload.Name != name || got.Payload.UsedBytes < -1 || got.Payload.Created == "" {
		t.Errorf("inspected %+v", got.Payload)
	}
	list, err := pl.Storage.ListVolumes(storage.NewListVolumesParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatal(errText(err))
	}
	found := false
	for _, v := range list.Payload {
		found = found || v.Name == name
		if v.UsedBytes != -1 {
			t.Errorf("volume %s listed without usage has usedBytes %d", v.Name, v.UsedBytes)
		}
	}
	if !found {
		t.Errorf("%s is not listed", name)
	}
	removeVolume(t, pl, name)
	_, err = pl.Storage.RemoveVolume(storage.NewRemoveVolumeParamsWithContext(ctx(t)).WithName(name))
	wantClass(t, err, http.StatusNotFound, "not_found")
	_, err = pl.Storage.GetVolume(storage.NewGetVolumeParamsWithContext(ctx(t)).WithName(name))
	wantClass(t, err, http.StatusNotFound, "not_found")
}

func hasDefaultStore(stores []*models.VolumeStore) bool {
	for _, s := range stores {
		if s.Name == "default" {
			return true
		}
	}
	return false
}

var volumeSeq = time.Now().UnixNano()

func volumeName() string {
	volumeSeq++
	return fmt.Sprintf("conformance-%d", volumeSeq)
}

func createVolume(t *testing.T, pl *client.Portlayer, spec *models.VolumeSpec) *models.VolumeInfo {
	t.Helper()
	resp, err := pl.Storage.CreateVolume(storage.NewCreateVolumeParamsWithContext(ctx(t)).WithSpec(spec))
	if err != nil {
		t.Fatalf("create volume %s: %s", spec.Name, errText(err))
	}
	return resp.Payload
}

func removeVolume(t *testing.T, pl *client.Portlayer, name string) {
	t.Helper()
	if _, err := pl.Storage.RemoveVolume(storage.NewRemoveVolumeParamsWithContext(ctx(t)).WithName(name)); err != nil {
		t.Fatalf("remove volume %s: %s", name, errText(err))
	}
}

// testMounts runs containers with a volume, a tmpfs and a read-only view of the volume: what one writes the
// next reads; an empty volume mounted where the image has files gets them; a volume a container has cannot
// be removed, nor attached to a second running container.
func (s *suite) testMounts(t *testing.T) {
	stores, err := s.pl.Storage.ListVolumeStores(storage.NewListVolumeStoresParamsWithContext(ctx(t)))
	if err != nil || !hasDefaultStore(stores.Payload) {
		t.Skip("the backend has no default volume store")
	}
	vol, empty := volumeName(), volumeName()
	createVolume(t, s.pl, &models.VolumeSpec{Name: vol})
	createVolume(t, s.pl, &models.VolumeSpec{Name: empty})
	t.Cleanup(func() {
		s.pl.Storage.RemoveVolume(storage.NewRemoveVolumeParams().WithName(vol))
		s.pl.Storage.RemoveVolume(storage.NewRemoveVolumeParams().WithName(empty))
	})

	writer := s.spec(newID(), s.newName(t), sh(`echo hi > /data/f && grep -q " /t tmpfs " /proc/mounts && echo tmpfs`))
	writer.Mounts = []*models.Mount{{Type: "volume", Source: vol, Destination: "/data"},
		{Type: "tmpfs", Destination: "/t", SizeBytes: 1 << 20}}
	c := s.createSpec(t, writer)
	if m := c.Spec.Mounts; len(m) != 2 || m[0].Source != vol || m[1].Type != "tmpfs" {
		t.Errorf("the spec's mounts: %+v", m)
	}
	s.start(t, *c.ID)
	s.exited(t, *c.ID, 0)
	if out := s.logLines(t, *c.ID); out != "tmpfs" {
		t.Errorf("writer printed %q", out)
	}
	_, err = s.pl.Storage.RemoveVolume(storage.NewRemoveVolumeParamsWithContext(ctx(t)).WithName(vol))
	wantClass(t, err, http.StatusConflict, "conflict")

	// A read-only view of it, and an empty volume over the image's /bin, which gets the image's files.
	reader := s.spec(newID(), s.newName(t), sh(`cat /data/f; touch /data/g 2>/dev/null && echo writable; ls /bin/busybox`))
	reader.Mounts = []*models.Mount{{Type: "volume", Source: vol, Destination: "/data", ReadOnly: true},
		{Type: "volume", Source: empty, Destination: "/bin"}}
	r := s.createSpec(t, reader)
	s.start(t, *r.ID)
	s.exited(t, *r.ID, 0)
	if out := s.logLines(t, *r.ID); out != "hi\n/bin/busybox" {
		t.Errorf("reader printed %q, want the file, no write, and the image's /bin copied in", out)
	}

	// One running writer per volume disk.
	holder := s.spec(newID(), s.newName(t), forever)
	holder.Mounts = []*models.Mount{{Type: "volume", Source: vol, Destination: "/data"}}
	h := s.createSpec(t, holder)
	s.start(t, *h.ID)
	second := s.spec(newID(), s.newName(t), forever)
	second.Mounts = []*models.Mount{{Type: "volume", Source: vol, Destination: "/data"}}
	sc := s.createSpec(t, second)
	_, err = s.pl.Containers.StartContainer(containers.NewStartContainerParamsWithContext(ctx(t)).WithID(*sc.ID))
	if statusOf(err) != http.StatusConflict || !strings.Contains(errText(err), vol) {
		t.Errorf("a second running container with the volume: %s", errText(err))
	}
	for _, id := range []string{*c.ID, *r.ID, *h.ID, *sc.ID} {
		s.remove(t, id, true)
	}
	removeVolume(t, s.pl, vol)
}

// logLines is the container's output, its lines joined by newlines.
func (s *suite) logLines(t *testing.T, id string) string {
	var lines []string
	for _, r := range s.logs(t, id, logQuery{}) {
		lines = append(lines, r.line)
	}
	return strings.Join(lines, "\n")
}
