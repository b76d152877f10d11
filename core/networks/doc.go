// Package networks is the engine's network service: Docker's networks (GET /networks, inspect, create,
// remove, prune) over the port layer's scopes. The backend keeps the networks and gives containers their
// addresses; this package speaks Docker's words for them: the predefined bridge, host and none networks,
// drivers, IPAM configurations, filters and dockerd's errors. Containers join networks through the container
// service, which resolves network names here.
package networks
