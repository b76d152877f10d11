package networks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

var listFilterKeys = map[string]bool{"driver": true, "id": true, "label": true, "name": true, "scope": true,
	"type": true, "dangling": true}

// List is GET /networks with dockerd's filters: driver, id and name (substrings or patterns), label (key or
// key=value), scope (local), type (builtin or custom) and dangling (no container on it). Values of one key
// are alternatives; keys must all match.
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]network.Summary, error) {
	for k, vals := range filters {
		if !listFilterKeys[k] {
			return nil, dockermsg.InvalidFilter.Err(k)
		}
		for _, v := range vals {
			switch k {
			case "type":
				if v != "custom" && v != "builtin" {
					return nil, fmt.Errorf("invalid filter: 'type'='%s': %w", v, errdefs.ErrInvalid)
				}
			case "dangling":
				if _, ok := parseBool(v); !ok {
					return nil, fmt.Errorf("invalid filter 'dangling=%s': %w", v, errdefs.ErrInvalid)
				}
			}
		}
	}
	all, err := s.pl.ListScopes(ctx)
	if err != nil {
		return nil, err
	}
	var on map[string][]*onNetwork
	if len(filters["dangling"]) > 0 {
		if on, err = s.containersOn(ctx); err != nil {
			return nil, err
		}
	}
	out := []network.Summary{}
	for _, n := range all {
		if match(n, filters, on) {
			out = append(out, network.Summary{Network: summary(n)})
		}
	}
	return out, nil
}

func match(n *models.ScopeInfo, f map[string][]string, on map[string][]*onNetwork) bool {
	if v := f["driver"]; len(v) > 0 && !anyOf(v, func(d string) bool { return d == Driver(n) }) {
		return false
	}
	if v := f["id"]; len(v) > 0 && !anyOf(v, func(p string) bool { return patternMatch(p, n.ID) }) {
		return false
	}
	if v := f["name"]; len(v) > 0 && !anyOf(v, func(p string) bool { return patternMatch(p, n.Name) }) {
		return false
	}
	if v := f["scope"]; len(v) > 0 && !anyOf(v, func(sc string) bool { return sc == "local" }) {
		return false
	}
	if v := f["type"]; len(v) > 0 && !anyOf(v, func(t string) bool { return (t == "builtin") == n.Predefined }) {
		return false
	}
	if v := f["dangling"]; len(v) > 0 {
		want, _ := parseBool(v[0])
		// dockerd counts the predefined networks as never dangling.
		dangling := !n.Predefined && len(on[n.ID]) == 0
		if dangling != want {
			return false
		}
	}
	for _, l := range f["label"] {
		k, val, hasValue := strings.Cut(l, "=")
		got, ok := n.Labels[k]
		if !ok || (hasValue && got != val) {
			return false
		}
	}
	return true
}

// patternMatch is dockerd's filter match: a regular expression, or a substring when it is not one.
func patternMatch(pattern, s string) bool {
	if re, err := regexp.Compile(pattern); err == nil {
		return re.MatchString(s)
	}
	return strings.Contains(s, pattern)
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

func anyOf(vals []string, f func(string) bool) bool {
	for _, v := range vals {
		if f(v) {
			return true
		}
	}
	return false
}

// Inspect is GET /networks/{id}: the network with the containers on it.
func (s *Service) Inspect(ctx context.Context, ref string) (network.Inspect, error) {
	n, err := s.Resolve(ctx, ref)
	if err != nil {
		return network.Inspect{}, err
	}
	on, err := s.containersOn(ctx)
	if err != nil {
		return network.Inspect{}, err
	}
	return inspect(n, on[n.ID]), nil
}
