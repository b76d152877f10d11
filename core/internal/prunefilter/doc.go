// Package prunefilter reads the filters of dockerd's prune requests (until, label, label!) and matches
// objects against them, once for containers, images, volumes and networks.
package prunefilter
