// Package containers is the engine's container service: Docker's containers (IDs, names, create from an
// image with Docker's merge rules, lifecycle, inspect, list, logs, attach, wait, auto-remove) kept as the
// backend's containerVMs through the port layer. Docker's own records (Config, HostConfig, image) travel in
// the containerVM's annotations, so the backend's inventory is the only state and a restarted endpoint sees
// every container as it was.
package containers
