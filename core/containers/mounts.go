package containers

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/volume"

	"github.com/vice-engine/vice/core/volumes"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// A container's mounts, as dockerd makes them from a create request: -v binds (named volumes, host paths),
// --mount, --tmpfs, --volumes-from, then the config's volumes (the image's VOLUMEs and -v /dst) at the
// destinations not taken yet, each an anonymous volume. Named volumes that do not exist are created.

// bindModes are the modes a -v spec may end with (dockerd's Linux parser).
var bindModes = map[string]string{
	"rw": "rw", "ro": "rw", "z": "label", "Z": "label", "nocopy": "copy",
	"private": "propagation", "rprivate": "propagation", "shared": "propagation", "rshared": "propagation",
	"slave": "propagation", "rslave": "propagation",
	"consistent": "consistency", "cached": "consistency", "delegated": "consistency",
}

func invalidSpec(raw string) error {
	return errdefs.Classed(fmt.Errorf("invalid volume specification: '%s'", raw), errdefs.ErrInvalid)
}

func mountConfigErr(typ, format string, args ...any) error {
	return errdefs.Classed(fmt.Errorf("invalid mount config for type %q: "+format, append([]any{typ}, args...)...), errdefs.ErrInvalid)
}

// validMode checks a -v mode: known words, at most one of each kind.
func validMode(mode string) bool {
	if mode == "" {
		return true
	}
	seen := map[string]bool{}
	for _, o := range strings.Split(mode, ",") {
		kind, ok := bindModes[o]
		if !ok || seen[kind] {
			return false
		}
		seen[kind] = true
	}
	return true
}

func hasMode(mode, word string) bool {
	for _, o := range strings.Split(mode, ",") {
		if o == word {
			return true
		}
	}
	return false
}

// checkTarget is dockerd's check of a mount's destination.
func checkTarget(typ, dst string) error {
	switch {
	case dst == "":
		return mountConfigErr(typ, "field Target must not be empty")
	case path.Clean(dst) == "/":
		return mountConfigErr(typ, "invalid specification: destination can't be '/'")
	case !path.IsAbs(dst):
		return mountConfigErr(typ, "invalid mount path: '%s' mount path must be absolute", dst)
	}
	return nil
}

// parseBind reads one -v src:dst[:mode] (a bare /dst comes in the config's volumes instead).
func parseBind(raw string) (*models.Mount, error) {
	arr := strings.SplitN(raw, ":", 4)
	if arr[0] == "" {
		return nil, invalidSpec(raw)
	}
	var src, dst, mode string
	switch len(arr) {
	case 1:
		dst = arr[0]
	case 2:
		if validMode(arr[1]) {
			return nil, invalidSpec(raw)
		}
		src, dst = arr[0], arr[1]
	case 3:
		src, dst, mode = arr[0], arr[1], arr[2]
	default:
		return nil, invalidSpec(raw)
	}
	if !validMode(mode) {
		return nil, errdefs.Classed(fmt.Errorf("invalid mode: %s", mode), errdefs.ErrInvalid)
	}
	m := &models.Mount{Type: string(mount.TypeVolume), Source: src, Destination: dst, ReadOnly: hasMode(mode, "ro"),
		NoCopy: hasMode(mode, "nocopy")}
	if path.IsAbs(src) {
		m.Type, m.Source, m.CreateSource = string(mount.TypeBind), path.Clean(src), true
	}
	if err := checkTarget(m.Type, dst); err != nil {
		return nil, fmt.Errorf("%w: %w", invalidSpec(raw), err)
	}
	m.Destination = path.Clean(dst)
	return m, nil
}

// fromMount reads one --mount.
func fromMount(mt mount.Mount) (*models.Mount, error) {
	typ := string(mt.Type)
	if err := checkTarget(typ, mt.Target); err != nil {
		return nil, err
	}
	m := &models.Mount{Type: typ, Source: mt.Source, Destination: path.Clean(mt.Target), ReadOnly: mt.ReadOnly}
	switch mt.Type {
	case mount.TypeBind:
		if mt.Source == "" {
			return nil, mountConfigErr(typ, "field Source must not be empty")
		}
		if mt.VolumeOptions != nil {
			return nil, mountConfigErr(typ, "field VolumeOptions must not be specified")
		}
		if !path.IsAbs(mt.Source) {
			return nil, mountConfigErr(typ, "invalid mount path: '%s' mount path must be absolute", mt.Source)
		}
		m.Source = path.Clean(mt.Source)
		m.CreateSource = mt.BindOptions != nil && mt.BindOptions.CreateMountpoint
	case mount.TypeVolume:
		if mt.BindOptions != nil {
			return nil, mountConfigErr(typ, "field BindOptions must not be specified")
		}
		if mt.ReadOnly && mt.Source == "" {
			return nil, mountConfigErr(typ, "must not set ReadOnly mode when using anonymous volumes")
		}
		if o := mt.VolumeOptions; o != nil {
			m.NoCopy = o.NoCopy
			if o.Subpath != "" {
				return nil, mountConfigErr(typ, "volume subpaths are not supported by vice")
			}
		}
	case mount.TypeTmpfs:
		if mt.Source != "" {
			return nil, mountConfigErr(typ, "field Source must not be specified")
		}
		if o := mt.TmpfsOptions; o != nil {
			m.SizeBytes, m.Mode = o.SizeBytes, int64(o.Mode.Perm()|o.Mode&(1<<9))
			if o.Mode&0o1000 != 0 {
				m.Mode |= 0o1000
			}
			for _, opt := range o.Options {
				if len(opt) != 1 || (opt[0] != "exec" && opt[0] != "noexec") {
					return nil, mountConfigErr(typ, "invalid option: %v", opt)
				}
				m.Options = append(m.Options, opt[0])
			}
		}
	default:
		return nil, mountConfigErr(typ, "mount type unknown")
	}
	return m, nil
}

// parseTmpfs reads one --tmpfs dst:options.
func parseTmpfs(dst, opts string) (*models.Mount, error) {
	if err := checkTarget("tmpfs", dst); err != nil {
		return nil, err
	}
	m := &models.Mount{Type: string(mount.TypeTmpfs), Destination: path.Clean(dst), Options: []string{"noexec"}}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
		switch k {
		case "":
		case "size":
			n, err := units.RAMInBytes(v)
			if err != nil || n < 0 {
				return nil, errdefs.Classed(fmt.Errorf("invalid tmpfs size %q", v), errdefs.ErrInvalid)
			}
			m.SizeBytes = n
		case "mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil || n > 0o7777 {
				return nil, errdefs.Classed(fmt.Errorf("invalid tmpfs mode %q", v), errdefs.ErrInvalid)
			}
			m.Mode = int64(n)
		case "ro":
			m.ReadOnly = true
		case "rw":
		case "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime", "relatime", "strictatime":
			m.Options = append(m.Options, k)
		default:
			return nil, errdefs.Classed(fmt.Errorf("invalid tmpfs option %q", o), errdefs.ErrInvalid)
		}
	}
	return m, nil
}

// mountsOf works out the container's mounts and creates the volumes they need; anonymous ones it made are
// returned for removal should the create fail.
func (s *Service) mountsOf(ctx context.Context, cfg *container.Config, host *container.HostConfig) (_ []*models.Mount, made []string, err error) {
	var explicit []*models.Mount
	for _, raw := range host.Binds {
		m, err := parseBind(raw)
		if err != nil {
			return nil, nil, err
		}
		explicit = append(explicit, m)
	}
	for _, mt := range host.Mounts {
		m, err := fromMount(mt)
		if err != nil {
			return nil, nil, err
		}
		explicit = append(explicit, m)
	}
	tmpfs := make([]string, 0, len(host.Tmpfs))
	for dst := range host.Tmpfs {
		tmpfs = append(tmpfs, dst)
	}
	sort.Strings(tmpfs)
	for _, dst := range tmpfs {
		m, err := parseTmpfs(dst, host.Tmpfs[dst])
		if err != nil {
			return nil, nil, err
		}
		explicit = append(explicit, m)
	}
	taken := map[string]bool{}
	for _, m := range explicit {
		if taken[m.Destination] {
			return nil, nil, errdefs.Classed(fmt.Errorf("Duplicate mount point: %s", m.Destination), errdefs.ErrInvalid)
		}
		taken[m.Destination] = true
	}
	all := explicit
	for _, from := range host.VolumesFrom {
		ms, err := s.volumesFrom(ctx, from)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			if !taken[m.Destination] {
				taken[m.Destination] = true
				all = append(all, m)
			}
		}
	}
	var anon []string
	for dst := range cfg.Volumes {
		if d := path.Clean(dst); !taken[d] && path.IsAbs(d) && d != "/" {
			taken[d] = true
			anon = append(anon, d)
		}
	}
	sort.Strings(anon)
	for _, d := range anon {
		all = append(all, &models.Mount{Type: string(mount.TypeVolume), Destination: d})
	}
	defer func() {
		if err != nil {
			s.removeVolumes(context.WithoutCancel(ctx), made)
			made = nil
		}
	}()
	var out []*models.Mount
	for _, m := range all {
		if m.Type != string(mount.TypeVolume) {
			out = append(out, m)
			continue
		}
		req := volume.CreateRequest{Name: m.Source}
		if m.Source == "" {
			req.Labels = map[string]string{volumes.AnonymousLabel: ""}
		}
		v, err := s.volumes.Create(ctx, req)
		if err != nil && m.Source == "" && errdefs.Is(err, errdefs.ErrNotFound) {
			// A VCH without a default volume store: the image's VOLUME stays a directory of the container's
			// disk, as VIC's containers had it, rather than failing every run of the image.
			s.log.Warn("no volume store for an anonymous volume; the path stays in the container's disk",
				"destination", m.Destination, "err", err)
			continue
		}
		if err != nil {
			return nil, made, err
		}
		if m.Source == "" {
			m.Source = v.Name
			made = append(made, v.Name)
		}
		out = append(out, m)
	}
	return out, made, nil
}

// volumesFrom is --volumes-from c[:ro|rw]: c's volumes and bind mounts, read-only or read-write as asked,
// else as c has them.
func (s *Service) volumesFrom(ctx context.Context, spec string) ([]*models.Mount, error) {
	if spec == "" {
		return nil, errdefs.Classed(errors.New("volumes-from specification cannot be an empty string"), errdefs.ErrInvalid)
	}
	ref, mode, _ := strings.Cut(spec, ":")
	if mode != "" && mode != "ro" && mode != "rw" {
		return nil, errdefs.Classed(fmt.Errorf("invalid mode: %s", mode), errdefs.ErrInvalid)
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []*models.Mount
	for _, m := range r.spec.Mounts {
		if m.Type == string(mount.TypeTmpfs) {
			continue
		}
		c := *m
		switch mode {
		case "ro":
			c.ReadOnly = true
		case "rw":
			c.ReadOnly = false
		}
		c.NoCopy = true
		out = append(out, &c)
	}
	return out, nil
}

// removeVolumes removes volumes quietly (those made for a container that is gone or never was).
func (s *Service) removeVolumes(ctx context.Context, names []string) {
	for _, n := range names {
		if err := s.volumes.Remove(ctx, n, true); err != nil {
			s.log.Debug("volume not removed", "volume", n, "err", err)
		}
	}
}

// anonymousVolumes are r's volumes that were made for it without a name.
func (s *Service) anonymousVolumes(ctx context.Context, r *record) []string {
	var out []string
	for _, m := range r.spec.Mounts {
		if m.Type != string(mount.TypeVolume) {
			continue
		}
		if v, err := s.volumes.Get(ctx, m.Source); err == nil && volumes.IsAnonymous(v.Labels) {
			out = append(out, m.Source)
		}
	}
	return out
}

// VolumeUsers maps each volume name to the IDs of the containers that mount it.
func (s *Service) VolumeUsers(ctx context.Context) (map[string][]string, error) {
	all, err := s.list(ctx, sdk.ListFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, r := range all {
		for _, m := range r.spec.Mounts {
			if m.Type == string(mount.TypeVolume) {
				out[m.Source] = append(out[m.Source], r.ID)
			}
		}
	}
	return out, nil
}

// mountPoints are the container's mounts as inspect shows them.
func (s *Service) mountPoints(ctx context.Context, r *record) []container.MountPoint {
	out := []container.MountPoint{}
	for _, m := range r.spec.Mounts {
		mp := container.MountPoint{Type: mount.Type(m.Type), Destination: m.Destination, RW: !m.ReadOnly}
		if m.ReadOnly {
			mp.Mode = "ro"
		}
		switch m.Type {
		case string(mount.TypeVolume):
			mp.Name, mp.Driver = m.Source, volumes.Driver
			if v, err := s.volumes.Get(ctx, m.Source); err == nil {
				mp.Source = v.Location
			}
			if mp.Mode == "" {
				mp.Mode = "z"
			}
		case string(mount.TypeBind):
			mp.Source, mp.Propagation = m.Source, mount.PropagationRPrivate
		}
		out = append(out, mp)
	}
	return out
}
