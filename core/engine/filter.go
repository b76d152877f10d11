package engine

import (
	"strings"

	"github.com/moby/moby/api/types/events"
)

// EventFilter is Docker's events filter: a key (type, event, container, image, volume, network, label, ...)
// with the values any of which an event must match. Keys combine with AND, values of one key with OR.
type EventFilter map[string][]string

// nameKeys are matched against the actor's ID or name, by exact value or ID prefix, for every event type.
var nameKeys = []string{"container", "volume", "network", "plugin", "daemon", "node", "service", "secret", "config"}

// Match reports whether m passes f, following the Docker daemon's rules.
func (f EventFilter) Match(m events.Message) bool {
	if !f.matchEvent(string(m.Action)) || !f.exact("type", string(m.Type)) || !f.exact("scope", m.Scope) {
		return false
	}
	for _, k := range nameKeys {
		if !f.fuzzy(k, m.Actor.ID) && !f.fuzzy(k, m.Actor.Attributes["name"]) {
			return false
		}
	}
	if !f.fuzzy("image", m.Actor.ID) && !f.fuzzy("image", m.Actor.Attributes["name"]) &&
		!f.fuzzy("image", m.Actor.Attributes["image"]) && !f.fuzzy("image", stripTag(m.Actor.Attributes["image"])) {
		return false
	}
	return f.matchLabels(m.Actor.Attributes)
}

// matchEvent matches actions exactly, except that "exec_start", "exec_create" and "health_status" also match
// their detailed forms ("exec_start: sh -c ...").
func (f EventFilter) matchEvent(action string) bool {
	vals, ok := f["event"]
	if !ok {
		return true
	}
	for _, v := range vals {
		switch {
		case v == action:
			return true
		case (v == "exec_start" || v == "exec_create" || v == "health_status") && strings.HasPrefix(action, v+":"):
			return true
		}
	}
	return false
}

func (f EventFilter) exact(key, value string) bool {
	vals, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vals {
		if v == value {
			return true
		}
	}
	return false
}

func (f EventFilter) fuzzy(key, value string) bool {
	vals, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vals {
		if value != "" && (v == value || strings.HasPrefix(value, v)) {
			return true
		}
	}
	return false
}

// matchLabels keeps events carrying every "label" filter: "key" present, or "key=value" equal.
func (f EventFilter) matchLabels(attrs map[string]string) bool {
	for _, l := range f["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := attrs[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

func stripTag(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i]
	}
	return image
}
