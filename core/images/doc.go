// Package images is the engine's image store: image records and the tag/digest index kept as port-layer kv
// records with a write-through in-memory cache, pulls from registries into the port layer's layer store
// (chain IDs as layer ids, shared layers fetched once), Docker's name and ID resolution, and the image verbs
// (list, inspect, history, tag, remove, save, load, import) answered with Docker's API types.
package images
