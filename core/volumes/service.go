package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/volume"

	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Driver is the name vice's volumes report; DriverAlias is accepted for it, so that compose files and
// clients that name Docker's default driver work.
const (
	Driver      = "vsphere"
	DriverAlias = "local"
)

// AnonymousLabel marks a volume made for a container's mount without a name (dockerd's label), which
// `docker rm -v` and a default `docker volume prune` remove.
const AnonymousLabel = "com.docker.volume.anonymous"

// annOptions keeps the driver options the volume was created with, as Docker shows them.
const annOptions = "docker.options"

// nameRule is dockerd's rule for local volume names.
var nameRule = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Users lists, by volume name, the IDs of the containers that mount each volume.
type Users func(ctx context.Context) (map[string][]string, error)

// Service is the volume service of one VCH.
type Service struct {
	pl    *portlayer.Client
	users Users
	log   *slog.Logger
}

// New returns the volume service over pl; users tells which containers use which volume.
func New(pl *portlayer.Client, users Users, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{pl: pl, users: users, log: log}
}

// opErr is dockerd's OpErr text: "<op> <name>: <message>", in the class given.
func opErr(op, name string, class error, format string, args ...any) error {
	return errdefs.Classed(fmt.Errorf("%s %s: "+format, append([]any{op, name}, args...)...), class)
}

// CheckName applies dockerd's rule for volume names, with dockerd's message.
func CheckName(name string) error {
	if len(name) == 1 {
		return opErr("create", name, errdefs.ErrInvalid, "volume name is too short, names should be at least two alphanumeric characters")
	}
	if !nameRule.MatchString(name) {
		return opErr("create", name, errdefs.ErrInvalid, `%q includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`, name)
	}
	return nil
}

// Create is POST /volumes/create. A volume of that name is returned as it is (dockerd's idempotent create).
func (s *Service) Create(ctx context.Context, o volume.CreateRequest) (volume.Volume, error) {
	name := o.Name
	if name == "" {
		name = newName()
	}
	if err := CheckName(name); err != nil {
		return volume.Volume{}, err
	}
	if o.Driver != "" && o.Driver != Driver && o.Driver != DriverAlias {
		return volume.Volume{}, errdefs.Classed(fmt.Errorf("error looking up volume plugin %s: plugin %q not found", o.Driver, o.Driver), errdefs.ErrNotFound)
	}
	if v, err := s.pl.GetVolume(ctx, name, false); err == nil {
		return s.view(v, nil), nil
	} else if !errdefs.Is(err, errdefs.ErrNotFound) {
		return volume.Volume{}, err
	}
	spec, err := specOf(name, o.DriverOpts, o.Labels)
	if err != nil {
		return volume.Volume{}, err
	}
	v, err := s.pl.CreateVolume(ctx, spec)
	if errdefs.Is(err, errdefs.ErrConflict) { // made meanwhile, by another create
		v, err = s.pl.GetVolume(ctx, name, false)
	}
	if err != nil {
		return volume.Volume{}, fmt.Errorf("create %s: %w", name, err)
	}
	s.log.Info("volume created", "volume", name, "store", v.Store, "capacity", v.CapacityBytes)
	return s.view(v, nil), nil
}

// specOf turns Docker's options into the port layer's spec: VIC's Capacity (MB, GB or TB; a bare number is
// MB), VolumeStore and fstype, case-insensitively.
func specOf(name string, opts, labels map[string]string) (*models.VolumeSpec, error) {
	spec := &models.VolumeSpec{Name: name, Labels: labels}
	for k, v := range opts {
		switch strings.ToLower(k) {
		case "capacity":
			mb, err := parseCapacity(v)
			if err != nil {
				return nil, err
			}
			spec.CapacityMB = mb
		case "volumestore":
			spec.Store = v
		case "fstype":
			spec.FsType = v
		default:
			return nil, errdefs.Classed(fmt.Errorf("invalid option: %q (the vsphere driver takes Capacity, VolumeStore and fstype)", k), errdefs.ErrInvalid)
		}
	}
	if len(opts) > 0 {
		data, _ := json.Marshal(opts)
		spec.Annotations = map[string]string{annOptions: string(data)}
	}
	return spec, nil
}

var capacityRule = regexp.MustCompile(`^\s*([0-9]+)\s*([a-zA-Z]*)\s*$`)

// parseCapacity reads VIC's capacity: a number of MB, or a number with MB, GB or TB (1024-based).
func parseCapacity(s string) (int64, error) {
	m := capacityRule.FindStringSubmatch(s)
	if m == nil {
		return 0, errdefs.Classed(fmt.Errorf("invalid Capacity %q: a number of MB, or a number with MB, GB or TB", s), errdefs.ErrInvalid)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	var mult int64
	switch strings.ToUpper(m[2]) {
	case "", "M", "MB", "MIB":
		mult = 1
	case "G", "GB", "GIB":
		mult = 1 << 10
	case "T", "TB", "TIB":
		mult = 1 << 20
	}
	if err != nil || mult == 0 || n <= 0 || n > (62<<20)/mult {
		return 0, errdefs.Classed(fmt.Errorf("invalid Capacity %q: a number of MB, or a number with MB, GB or TB, up to 62TB", s), errdefs.ErrInvalid)
	}
	return n * mult, nil
}

// newName is an anonymous volume's name, as dockerd makes them: 64 hex digits.
func newName() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// view is the port layer's volume as Docker shows it; refs, when known, fill UsageData.
func (s *Service) view(v *models.VolumeInfo, refs []string) volume.Volume {
	out := volume.Volume{
		Name: v.Name, Driver: Driver, Mountpoint: v.Location, CreatedAt: v.Created, Scope: "local",
		Labels: v.Labels, Options: map[string]string{},
		Status: map[string]any{"VolumeStore": v.Store, "Capacity": capacityText(v.CapacityBytes), "FSType": v.FsType},
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if raw := v.Annotations[annOptions]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &out.Options)
	}
	if v.UsedBytes >= 0 || refs != nil {
		out.UsageData = &volume.UsageData{Size: v.UsedBytes, RefCount: int64(len(refs))}
	}
	return out
}

func capacityText(b int64) string {
	mb := b >> 20
	switch {
	case mb >= 1<<20 && mb%(1<<20) == 0:
		return strconv.FormatInt(mb>>20, 10) + "TB"
	case mb >= 1<<10 && mb%(1<<10) == 0:
		return strconv.FormatInt(mb>>10, 10) + "GB"
	}
	return strconv.FormatInt(mb, 10) + "MB"
}

// Inspect is GET /volumes/{name}.
func (s *Service) Inspect(ctx context.Context, name string) (volume.Volume, error) {
	v, err := s.pl.GetVolume(ctx, name, false)
	if err != nil {
		return volume.Volume{}, noSuch("get", name, err)
	}
	return s.view(v, nil), nil
}

// Get returns the port layer's record of a volume.
func (s *Service) Get(ctx context.Context, name string) (*models.VolumeInfo, error) {
	v, err := s.pl.GetVolume(ctx, name, false)
	if err != nil {
		return nil, noSuch("get", name, err)
	}
	return v, nil
}

// noSuch is dockerd's "get NAME: no such volume" for a missing (or malformed) name.
func noSuch(op, name string, err error) error {
	if errdefs.Is(err, errdefs.ErrNotFound) || errdefs.Is(err, errdefs.ErrInvalid) {
		return opErr(op, name, errdefs.ErrNotFound, "no such volume")
	}
	return err
}

// Remove is DELETE /volumes/{name}: refused while a container uses the volume (force or not, as dockerd);
// force makes a missing volume no error.
func (s *Service) Remove(ctx context.Context, name string, force bool) error {
	if _, err := s.pl.GetVolume(ctx, name, false); err != nil {
		if force && (errdefs.Is(err, errdefs.ErrNotFound) || errdefs.Is(err, errdefs.ErrInvalid)) {
			return nil
		}
		return noSuch("get", name, err)
	}
	users, err := s.users(ctx)
	if err != nil {
		return err
	}
	if refs := users[name]; len(refs) > 0 {
		return opErr("remove", name, errdefs.ErrConflict, "volume is in use - %v", refs)
	}
	if err := s.pl.RemoveVolume(ctx, name); err != nil {
		if errdefs.Is(err, errdefs.ErrConflict) {
			return opErr("remove", name, errdefs.ErrConflict, "volume is in use - [%s]", err.Error())
		}
		if force && errdefs.Is(err, errdefs.ErrNotFound) {
			return nil
		}
		return noSuch("remove", name, err)
	}
	s.log.Info("volume removed", "volume", name)
	return nil
}

// all lists the volumes with their users.
func (s *Service) all(ctx context.Context, usage bool) ([]*models.VolumeInfo, map[string][]string, error) {
	list, err := s.pl.ListVolumes(ctx, usage)
	if err != nil {
		return nil, nil, err
	}
	users, err := s.users(ctx)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, users, nil
}

// Stores are the VCH's volume store labels, for docker info.
func (s *Service) Stores(ctx context.Context) ([]string, error) {
	stores, err := s.pl.ListVolumeStores(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range stores {
		out = append(out, st.Name)
	}
	return out, nil
}
