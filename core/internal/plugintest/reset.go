package plugintest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Reset empties the backend through the port layer: every container is removed (running ones forced, which
// stops their guests), then every layer (children before their parents), then every kv record.
func (p *Plugin) Reset(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pl := p.Client()
	var errs []error
	ctrs, err := pl.ListContainers(ctx, sdk.ListFilter{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range ctrs {
		if err := pl.RemoveContainer(ctx, *c.ID, true); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", *c.ID, err))
		}
	}
	layers, err := pl.ListLayers(ctx)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list layers: %w", err))...)
	}
	for _, l := range childrenFirst(layers) {
		if err := pl.RemoveLayer(ctx, *l.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove layer %s: %w", *l.ID, err))
		}
	}
	recs, err := pl.ListValues(ctx, "")
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list kv records: %w", err))...)
	}
	for _, r := range recs {
		if err := pl.DeleteValue(ctx, *r.Key); err != nil {
			errs = append(errs, fmt.Errorf("delete kv record %s: %w", *r.Key, err))
		}
	}
	return errors.Join(errs...)
}

// childrenFirst orders layers so that each comes before its parent.
func childrenFirst(layers []*models.LayerInfo) []*models.LayerInfo {
	depth := map[string]int{}
	byID := map[string]*models.LayerInfo{}
	for _, l := range layers {
		byID[*l.ID] = l
	}
	var depthOf func(id string) int
	depthOf = func(id string) int {
		if d, ok := depth[id]; ok {
			return d
		}
		d := 0
		if l := byID[id]; l != nil && l.Parent != "" {
			depth[id] = 0 // a cycle cannot recurse forever
			d = depthOf(l.Parent) + 1
		}
		depth[id] = d
		return d
	}
	out := append([]*models.LayerInfo(nil), layers...)
	for _, l := range out {
		depthOf(*l.ID)
	}
	slices.SortStableFunc(out, func(a, b *models.LayerInfo) int { return depth[*b.ID] - depth[*a.ID] })
	return out
}
