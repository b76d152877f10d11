// Package engine is what the Docker API handlers call: it turns Docker's requests into port-layer calls on
// one backend and the backend's answers into Docker's API types. It owns the engine's view of the VCH
// (system info, version) and the event log that `docker events` reads; it keeps caches only, the state lives
// in vSphere behind the port layer.
package engine
