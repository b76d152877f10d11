// Package soaptrace logs every vSphere API call a client makes, with its duration, at debug level: what a
// backend operation costs in round trips, and where its time goes (bench/README.md's breakdown of a
// `docker run` was taken with it). It wraps a vim25 client's round tripper and costs nothing when the
// logger does not log debug records. With VICE_SOAPTRACE_CALLERS set, each line also names the functions
// that made the call, to count round trips per backend operation.
package soaptrace
