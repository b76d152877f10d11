// Package events is the backend's in-process event bus: the parts of a backend publish what they changed, and
// every port-layer event stream subscribes with the types it wants. Publishing never blocks: each subscriber
// has a bounded buffer, and events a slow subscriber cannot take are dropped for that subscriber only.
package events
