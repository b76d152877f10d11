// Package simulatortests holds the end-to-end tests: the real docker CLI and the moby Go client against
// vice-engine, its go-plugin backend and the simulated vSphere of vice-vcsim, all as separate processes
// built from this tree, exactly as `make run` starts them.
package simulatortests
