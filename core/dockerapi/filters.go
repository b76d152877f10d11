package dockerapi

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// parseFilters reads Docker's "filters" query parameter: {"key":{"value":true}}, or the legacy
// {"key":["value"]}. It returns each key's values, sorted.
func parseFilters(raw string) (map[string][]string, error) {
	out := map[string][]string{}
	if raw == "" {
		return out, nil
	}
	var sets map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &sets); err == nil {
		for k, vals := range sets {
			for v := range vals {
				out[k] = append(out[k], v)
			}
			sort.Strings(out[k])
		}
		return out, nil
	}
	var legacy map[string][]string
	if err := json.Unmarshal([]byte(raw), &legacy); err != nil {
		return nil, errdefs.Classed(fmt.Errorf("invalid filter: %w", err), errdefs.ErrInvalid)
	}
	for k, vals := range legacy {
		out[k] = append([]string(nil), vals...)
		sort.Strings(out[k])
	}
	return out, nil
}
