// Package vice is a Docker-compatible container engine that runs every container as its own virtual
// machine on vSphere. The root package holds no code; it carries the repository-wide tests, such as the
// import rules of DESIGN.md §7.
package vice
