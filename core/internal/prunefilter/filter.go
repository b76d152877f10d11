package prunefilter

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Filter is a parsed set of prune filters.
type Filter struct {
	// Until, when set, spares objects created after it.
	Until time.Time
	// Labels must all match ("key" or "key=value"); NotLabels spare an object they all match.
	Labels, NotLabels []string
	// Other holds the accepted filters this package does not interpret (dangling, all), by key.
	Other map[string][]string
}

// Parse checks filters against the keys the request accepts (dockerd's "invalid filter 'key'") and reads
// until and the label filters; now is what a duration ("24h") counts back from.
func Parse(filters map[string][]string, now time.Time, accepted ...string) (Filter, error) {
	f := Filter{Other: map[string][]string{}}
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := filters[k]
		if !contains(accepted, k) {
			return Filter{}, dockermsg.InvalidFilter.Err(k)
		}
		switch k {
		case "until":
			if len(vals) > 1 {
				return Filter{}, fmt.Errorf("more than one until filter specified: %w", errdefs.ErrInvalid)
			}
			t, err := Timestamp(vals[0], now)
			if err != nil {
				return Filter{}, err
			}
			f.Until = t
		case "label":
			f.Labels = vals
		case "label!":
			f.NotLabels = vals
		default:
			f.Other[k] = vals
		}
	}
	return f, nil
}

// Match reports whether an object created at created with labels is to be pruned, as dockerd decides it.
func (f Filter) Match(created time.Time, labels map[string]string) bool {
	if !f.Until.IsZero() && created.After(f.Until) {
		return false
	}
	if !matchAll(f.Labels, labels) {
		return false
	}
	return len(f.NotLabels) == 0 || !matchAll(f.NotLabels, labels)
}

// Bool reads a boolean filter (dangling, all) as dockerd does: true/1 or false/0, def when absent.
func (f Filter) Bool(key string, def bool) (bool, error) {
	vals := f.Other[key]
	if len(vals) == 0 {
		return def, nil
	}
	switch strings.ToLower(vals[0]) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, dockermsg.InvalidFilterKV.Err(key, vals[0])
}

// matchAll is dockerd's MatchKVList: every "key" or "key=value" is in labels (no filters match anything).
func matchAll(filters []string, labels map[string]string) bool {
	if len(filters) == 0 {
		return true
	}
	if len(labels) == 0 {
		return false
	}
	for _, kv := range filters {
		k, v, hasValue := strings.Cut(kv, "=")
		got, ok := labels[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
