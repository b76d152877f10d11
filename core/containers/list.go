package containers

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// ListOptions are GET /containers/json's parameters.
type ListOptions struct {
	All   bool
	Limit int
	// Filters are Docker's: id, name, label, status, exited, before, since, ancestor.
	Filters map[string][]string
	// Size fills each container's SizeRw and SizeRootFs (docker ps -s), measuring its disk.
	Size bool
}

var listFilterKeys = map[string]bool{"id": true, "name": true, "label": true, "status": true, "exited": true,
	"before": true, "since": true, "ancestor": true, "health": true}

// List is GET /containers/json: newest first; running ones only unless all, a limit, or a status, exited,
// before or since filter says otherwise.
func (s *Service) List(ctx context.Context, o ListOptions) ([]container.Summary, error) {
	for k, vals := range o.Filters {
		if !listFilterKeys[k] {
			return nil, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalid)
		}
		if k == "status" {
			for _, v := range vals {
				if container.ValidateContainerState(container.ContainerState(v)) != nil {
					return nil, fmt.Errorf("invalid filter 'status=%s': %w", v, errdefs.ErrInvalid)
				}
			}
		}
		if k == "health" {
			for _, v := range vals {
				if container.ValidateHealthStatus(container.HealthStatus(v)) != nil {
					return nil, fmt.Errorf("invalid filter 'health=%s': %w", v, errdefs.ErrInvalid)
				}
			}
		}
	}
	infos, err := s.pl.ListContainersShared(ctx, sdk.ListFilter{}) // only read from here on
	if err != nil {
		return nil, err
	}
	all := make([]*record, 0, len(infos))
	for _, i := range infos {
		all = append(all, s.records.decodeShared(i))
	}
	created := make(map[*record]time.Time, len(all)) // parsed once, not once per comparison
	for _, r := range all {
		created[r] = r.createdAt()
	}
	sort.SliceStable(all, func(i, j int) bool { return created[all[i]].After(created[all[j]]) })
	for _, r := range all {
		s.decorate(r)
	}
	m, err := s.newMatcher(ctx, o.Filters, all)
	if err != nil {
		return nil, err
	}
	showAll := o.All || o.Limit > 0 || len(o.Filters["status"]) > 0 || len(o.Filters["exited"]) > 0 ||
		len(o.Filters["before"]) > 0 || len(o.Filters["since"]) > 0
	var imageSizes map[string]int64
	if o.Size {
		if imageSizes, err = s.images.Sizes(ctx); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	out := []container.Summary{}
	for _, r := range all {
		if (!showAll && !r.running() && !r.restartPending) || !m.match(r) {
			continue
		}
		sum := summary(r, now)
		if o.Size {
			sum.SizeRw = s.sizeRw(ctx, r.ID)
			sum.SizeRootFs = imageSizes[r.ImageID] + sum.SizeRw
		}
		out = append(out, sum)
		if o.Limit > 0 && len(out) == o.Limit {
			break
		}
	}
	return out, nil
}

// matcher applies Docker's container filters: values of one key OR, keys AND.
type matcher struct {
	f             map[string][]string
	before, since time.Time // creation times bounding the list
	ancestors     map[string]bool
	names         []*regexp.Regexp
}

func (s *Service) newMatcher(ctx context.Context, f map[string][]string, all []*record) (*matcher, error) {
	m := &matcher{f: f}
	created := func(ref string) (time.Time, error) {
		for _, r := range all {
			if r.ID == ref || r.Name == strings.TrimPrefix(ref, "/") || strings.HasPrefix(r.ID, ref) {
				return r.createdAt(), nil
			}
		}
		return time.Time{}, noSuchContainer(ref)
	}
	var err error
	if v := f["before"]; len(v) > 0 {
		if m.before, err = created(v[0]); err != nil {
			return nil, err
		}
	}
	if v := f["since"]; len(v) > 0 {
		if m.since, err = created(v[0]); err != nil {
			return nil, err
		}
	}
	if v := f["ancestor"]; len(v) > 0 {
		m.ancestors = map[string]bool{}
		for _, ref := range v {
			m.ancestors[ref] = true
			if img, err := s.images.Resolve(ctx, ref); err == nil {
				m.ancestors[img.ID] = true
			}
		}
	}
	for _, n := range f["name"] {
		re, err := regexp.Compile(n)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(n))
		}
		m.names = append(m.names, re)
	}
	for _, v := range f["exited"] {
		if _, err := strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("invalid filter 'exited=%s': %w", v, errdefs.ErrInvalid)
		}
	}
	return m, nil
}

func (m *matcher) match(r *record) bool {
	if !m.before.IsZero() && !r.createdAt().Before(m.before) || !m.since.IsZero() && !r.createdAt().After(m.since) {
		return false
	}
	if ids := m.f["id"]; len(ids) > 0 && !anyOf(ids, func(v string) bool { return strings.HasPrefix(r.ID, v) }) {
		return false
	}
	if len(m.names) > 0 && !anyOf(m.f["name"], func(string) bool {
		for _, re := range m.names {
			// dockerd tries the name with its leading slash and without it.
			if re.MatchString("/"+r.Name) || re.MatchString(r.Name) {
				return true
			}
		}
		return false
	}) {
		return false
	}
	if st := m.f["status"]; len(st) > 0 && !anyOf(st, func(v string) bool { return v == r.dockerStatus() }) {
		return false
	}
	if hs := m.f["health"]; len(hs) > 0 && !anyOf(hs, func(v string) bool {
		if r.healthNow == nil {
			return v == string(container.NoHealthcheck)
		}
		return v == string(r.healthNow.Status)
	}) {
		return false
	}
	if ex := m.f["exited"]; len(ex) > 0 && (r.status() != "exited" ||
		!anyOf(ex, func(v string) bool { return v == strconv.FormatInt(r.state().ExitCode, 10) })) {
		return false
	}
	if m.ancestors != nil && !m.ancestors[r.ImageID] && !m.ancestors[r.Image] {
		return false
	}
	for _, l := range m.f["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := r.Config.Labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

func anyOf(vals []string, f func(string) bool) bool {
	for _, v := range vals {
		if f(v) {
			return true
		}
	}
	return false
}
