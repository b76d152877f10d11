// Package archive reads and writes a container's filesystem tree as tar streams, with the Docker Engine API's
// rules for `docker cp` and `docker export`: the stat of a path, a tar of a path named after its last element,
// the extraction of a tar into a directory, and the whole tree. Every path is resolved inside the tree's root
// (openat2's RESOLVE_IN_ROOT), so symlinks are followed within the container and never out of it. The tether
// uses it inside a running containerVM, where the root is the guest's own; the vsphere backend uses it on a
// stopped container's disk, mounted where the endpoint can read it.
package archive
