// Package dockerapi serves the Docker Engine API over HTTP: routes with and without the /v1.NN prefix,
// Docker's API version checks, one mapping of error classes to Docker's status codes and {"message": ...}
// bodies, request logging and panic recovery, and a Server that listens on Docker's -H addresses. Handlers are
// thin: they decode with moby's API types, call the engine and write what Docker writes.
package dockerapi
