// Package errdefs defines the error classes that cross the port layer: a backend wraps its errors in one
// class with %w, the transport carries the class as an HTTP status and an Error body, and the core maps the
// class once to Docker's status codes.
package errdefs
