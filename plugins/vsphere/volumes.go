package vsphere

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/events"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Volume defaults and limits, as VIC had them: 1 GB ext4 disks unless asked otherwise.
const (
	defaultVolumeCapacityMB = 1024
	maxVolumeCapacityMB     = 62 << 20 // vSphere's largest virtual disk, 62 TB
	defaultVolumeFSType     = "ext4"
	maxVolumeRecordBytes    = 1 << 20
)

// volumeNamePattern is Docker's rule for local volume names; it also keeps a name from naming another path.
var volumeNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`)

// volumeState is the backend's volume stores and what it remembers of their volumes: a volume's record never
// changes once written, so it is read once; the folders are listed every time.
type volumeState struct {
	stores map[string]*volumeStore

	mu      sync.Mutex
	records map[string]*volumeFile // name -> record, of volumes seen
	busy    map[string]bool        // names being created or removed by this process
}

// volumeFile is a volume's record, volume.json beside its disk.
type volumeFile struct {
	Name        string            `json:"name"`
	CapacityKB  int64             `json:"capacityKB"`
	FSType      string            `json:"fsType"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Created     string            `json:"created"`

	store *volumeStore
}

func (v *volumeFile) info(b *Backend) *models.VolumeInfo {
	if v.store.nfs() {
		return &models.VolumeInfo{
			Name: v.Name, Store: v.store.cfg.Label, StoreType: "nfs", Location: "nfs://" + v.store.nfsSource(v.Name),
			FsType: "nfs", UsedBytes: -1, Created: v.Created, Labels: v.Labels, Annotations: v.Annotations,
		}
	}
	return &models.VolumeInfo{
		Name: v.Name, Store: v.store.cfg.Label, StoreType: "vmdk",
		Location:      v.store.files.ds.Path(v.store.descriptor(v.Name)),
		CapacityBytes: v.CapacityKB << 10, FsType: v.FSType, UsedBytes: -1, Created: v.Created,
		Labels: v.Labels, Annotations: v.Annotations,
	}
}

func checkVolumeName(name string) error {
	if !volumeNamePattern.MatchString(name) || len(name) > 255 {
		return fmt.Errorf("volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] (two characters at least) are allowed: %w",
			name, errdefs.ErrInvalid)
	}
	return nil
}

// claim marks name busy in this process, so a create and a remove of one name never overlap here.
func (b *Backend) claimVolume(name string) (func(), error) {
	s := &b.vols
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[name] {
		return nil, fmt.Errorf("volume %s is being created or removed: %w", name, errdefs.ErrConflict)
	}
	if s.busy == nil {
		s.busy = map[string]bool{}
	}
	s.busy[name] = true
	return func() {
		s.mu.Lock()
		delete(s.busy, name)
		s.mu.Unlock()
	}, nil
}

// CreateVolume makes the volume's disk (thin, of the asked capacity) and its contents (an empty
// filesystem) in a temporary folder of the store, writes its record, and renames the folder into place: a
// volume is complete or absent.
func (b *Backend) CreateVolume(ctx context.Context, spec *models.VolumeSpec) (*models.VolumeInfo, error) {
	if spec == nil {
		return nil, fmt.Errorf("a volume spec is needed: %w", errdefs.ErrInvalid)
	}
	name := spec.Name
	if err := checkVolumeName(name); err != nil {
		return nil, err
	}
	capMB := spec.CapacityMB
	if capMB == 0 {
		capMB = defaultVolumeCapacityMB
	}
	if capMB < 0 || capMB > maxVolumeCapacityMB {
		return nil, fmt.Errorf("volume capacity %d MB is out of range (1 MB to 62 TB): %w", capMB, errdefs.ErrInvalid)
	}
	fsType := spec.FsType
	if fsType == "" {
		fsType = defaultVolumeFSType
	}
	if fsType != defaultVolumeFSType {
		return nil, fmt.Errorf("volume filesystem %q: volume disks are formatted with ext4 only: %w", fsType, errdefs.ErrInvalid)
	}
	s, err := b.store(spec.Store)
	if err != nil {
		return nil, err
	}
	release, err := b.claimVolume(name)
	if err != nil {
		return nil, err
	}
	defer release()
	if _, err := b.findVolume(ctx, name); err == nil {
		return nil, fmt.Errorf("volume %s already exists: %w", name, errdefs.ErrConflict)
	} else if !errdefs.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	rec := &volumeFile{Name: name, CapacityKB: capMB << 10, FSType: fsType, Labels: spec.Labels,
		Annotations: spec.Annotations, Created: time.Now().UTC().Format(time.RFC3339Nano), store: s}
	if s.nfs() {
		rec.CapacityKB, rec.FSType = 0, "nfs"
		if err := b.createNFSVolume(ctx, s, rec); err != nil {
			return nil, fmt.Errorf("create volume %s: %w", name, err)
		}
	} else if err := b.writeVolume(ctx, s, path.Join(s.folder(), tmpPrefix+name+"-"+randomSuffix()), rec); err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	b.vols.mu.Lock()
	if b.vols.records == nil {
		b.vols.records = map[string]*volumeFile{}
	}
	b.vols.records[name] = rec
	b.vols.mu.Unlock()
	b.log.Info("created volume", "volume", name, "store", s.cfg.Label, "capacityMB", capMB)
	b.publishVolume(name, "create", s.cfg.Label)
	return rec.info(b), nil
}

// writeVolume makes the volume in the folder tmp and moves it to its own; a failure removes tmp.
func (b *Backend) writeVolume(ctx context.Context, s *volumeStore, tmp string, rec *volumeFile) (err error) {
	if err := s.files.mkdirAll(ctx, tmp); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		if derr := s.files.deleteFile(context.WithoutCancel(ctx), tmp); derr != nil && !isGone(derr) {
			b.log.Warn("could not remove a failed volume's folder", "folder", s.files.ds.Path(tmp), "err", derr)
		}
	}()
	desc := path.Join(tmp, rec.Name+".vmdk")
	if err := s.files.createVolumeDisk(ctx, desc, rec.CapacityKB); err != nil {
		return err
	}
	if err := b.formatVolume(ctx, s, desc); err != nil {
		return err
	}
	data, _ := json.Marshal(rec) // plain strings and maps always encode
	if err := s.files.uploadFile(ctx, path.Join(tmp, volumeRecord), data); err != nil {
		return err
	}
	return s.files.move(ctx, tmp, s.volumeDir(rec.Name))
}

// formatVolume gives the new disk an empty filesystem. On a local datastore (the simulator) that is an empty
// contents directory beside the descriptor; elsewhere (and in block-disk mode) an ext4 filesystem, made
// through the endpoint VM as a fresh layer disk's is.
func (b *Backend) formatVolume(ctx context.Context, s *volumeStore, desc string) error {
	if local := s.localPath(desc); local != "" && !b.cfg.BlockDisks {
		return mkdirClassed(DiskDataDir(local))
	}
	return b.formatThroughEndpoint(ctx, s.files.ds.Path(desc))
}

// createVolumeDisk makes a thin, independent-to-be disk of capacityKB.
func (f dsFiles) createVolumeDisk(ctx context.Context, rel string, capacityKB int64) error {
	spec := &types.FileBackedVirtualDiskSpec{
		VirtualDiskSpec: types.VirtualDiskSpec{
			DiskType:    string(types.VirtualDiskTypeThin),
			AdapterType: string(types.VirtualDiskAdapterTypeLsiLogic),
		},
		CapacityKb: capacityKB,
	}
	vdm := object.NewVirtualDiskManager(f.client)
	task, err := vdm.CreateVirtualDisk(ctx, f.ds.Path(rel), f.dc, spec)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	return classify(err, "create disk "+f.ds.Path(rel))
}

// findVolume returns the record of volume name from whichever store holds it.
func (b *Backend) findVolume(ctx context.Context, name string) (*volumeFile, error) {
	for _, l := range b.storeLabels() {
		s := b.vols.stores[l]
		rec, err := b.readVolume(ctx, s, name)
		if err == nil {
			return rec, nil
		}
		if s.nfs() && errdefs.Is(err, errdefs.ErrUnavailable) {
			b.log.Warn("an NFS volume store cannot be reached", "store", l, "err", err)
			continue
		}
		if !errdefs.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("volume %s: %w", name, errdefs.ErrNotFound)
}

// readVolume reads the record of volume name in s (cached once read; the folder's presence is checked).
func (b *Backend) readVolume(ctx context.Context, s *volumeStore, name string) (*volumeFile, error) {
	if s.nfs() {
		return b.readNFSVolume(ctx, s, name)
	}
	data, err := s.files.readFile(ctx, path.Join(s.volumeDir(name), volumeRecord), maxVolumeRecordBytes)
	if err != nil {
		b.forgetVolume(name)
		return nil, err
	}
	b.vols.mu.Lock()
	defer b.vols.mu.Unlock()
	if rec, ok := b.vols.records[name]; ok && rec.store == s {
		return rec, nil
	}
	rec := &volumeFile{store: s}
	if err := json.Unmarshal(data, rec); err != nil || rec.Name != name {
		return nil, fmt.Errorf("volume %s: damaged record %s: %w", name, s.files.ds.Path(path.Join(s.volumeDir(name), volumeRecord)), errdefs.ErrSystem)
	}
	if b.vols.records == nil {
		b.vols.records = map[string]*volumeFile{}
	}
	b.vols.records[name] = rec
	return rec, nil
}

func (b *Backend) forgetVolume(name string) {
	b.vols.mu.Lock()
	delete(b.vols.records, name)
	b.vols.mu.Unlock()
}

// ListVolumes lists every store's volume folders and reads their records (once per volume).
func (b *Backend) ListVolumes(ctx context.Context, usage bool) ([]*models.VolumeInfo, error) {
	out := []*models.VolumeInfo{}
	for _, l := range b.storeLabels() {
		s := b.vols.stores[l]
		var names []string
		var err error
		if s.nfs() {
			if names, err = b.listNFSVolumes(ctx, s); errdefs.Is(err, errdefs.ErrUnavailable) {
				b.log.Warn("an NFS volume store cannot be reached; its volumes are not listed", "store", l, "err", err)
				continue
			}
		} else {
			names, err = s.files.subfolders(ctx, s.folder())
		}
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if isTempFolder(n) || checkVolumeName(n) != nil {
				continue
			}
			b.vols.mu.Lock()
			rec, ok := b.vols.records[n]
			b.vols.mu.Unlock()
			if !ok || rec.store != s {
				if rec, err = b.readVolume(ctx, s, n); err != nil {
					if errdefs.Is(err, errdefs.ErrNotFound) { // removed meanwhile, or incomplete
						continue
					}
					return nil, err
				}
			}
			out = append(out, b.volumeInfo(rec, usage))
		}
	}
	return out, nil
}

// GetVolume describes one volume.
func (b *Backend) GetVolume(ctx context.Context, name string, usage bool) (*models.VolumeInfo, error) {
	if err := checkVolumeName(name); err != nil {
		return nil, err
	}
	rec, err := b.findVolume(ctx, name)
	if err != nil {
		return nil, err
	}
	return b.volumeInfo(rec, usage), nil
}

func (b *Backend) volumeInfo(rec *volumeFile, usage bool) *models.VolumeInfo {
	i := rec.info(b)
	if usage {
		i.UsedBytes = b.volumeUsage(rec)
	}
	return i
}

// volumeUsage is the bytes of the volume's files where its contents are local; -1 otherwise.
func (b *Backend) volumeUsage(rec *volumeFile) int64 {
	if rec.store.nfs() {
		return -1
	}
	local := rec.store.localPath(rec.store.descriptor(rec.Name))
	if local == "" {
		return -1
	}
	var n int64
	_ = filepath.WalkDir(DiskDataDir(local), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// RemoveVolume removes a volume that no containerVM has: its disk, then its folder.
func (b *Backend) RemoveVolume(ctx context.Context, name string) error {
	if err := checkVolumeName(name); err != nil {
		return err
	}
	release, err := b.claimVolume(name)
	if err != nil {
		return err
	}
	defer release()
	rec, err := b.findVolume(ctx, name)
	if err != nil {
		return err
	}
	users, err := b.volumeUsers(ctx, name, false)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("volume %s is in use by container %s: %w", name, strings.Join(users, ", "), errdefs.ErrConflict)
	}
	s := rec.store
	if s.nfs() {
		if err := b.removeNFSVolume(ctx, s, name); err != nil {
			return fmt.Errorf("remove volume %s: %w", name, err)
		}
	} else {
		if err := s.files.deleteDisk(ctx, s.descriptor(name)); err != nil && !isGone(err) {
			return fmt.Errorf("remove volume %s: %w", name, err)
		}
		if err := s.files.deleteFile(ctx, s.volumeDir(name)); err != nil && !isGone(err) {
			return fmt.Errorf("remove volume %s: %w", name, err)
		}
	}
	b.forgetVolume(name)
	b.log.Info("removed volume", "volume", name, "store", s.cfg.Label)
	b.publishVolume(name, "destroy", s.cfg.Label)
	return nil
}

// EventTypeVolume is the type of the volume events the backend publishes (Docker's create and destroy).
const EventTypeVolume = "volume"

func (b *Backend) publishVolume(name, action, store string) {
	b.bus.Publish(events.New(EventTypeVolume, action, name, map[string]string{"driver": "vsphere", "store": store}))
}

// mkdirClassed makes the directory dir, classing a failure.
func mkdirClassed(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, errdefs.Classed(err, osClass(err)))
	}
	return nil
}
