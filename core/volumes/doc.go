// Package volumes is Docker's volume API over the port layer's volume stores: create (Docker's name rules,
// the vsphere driver with local as its alias, VIC's Capacity, VolumeStore and fstype options), list with
// dockerd's filters, inspect, remove, prune and the volumes' part of system df. The volumes themselves live in
// the backend's stores; which containers use a volume is read from the containers' specs.
package volumes
