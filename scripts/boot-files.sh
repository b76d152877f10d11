#!/usr/bin/env bash
# Fetches the Debian packages the bootable ISOs are made from (apt-get download, no installation) into a cache
# and unpacks each into a directory of its own: scripts/boot-files.sh CACHE PACKAGE=VERSION...
# Each package is fetched once; a directory that exists is complete (it is renamed into place).
set -euo pipefail
cache=$1
shift
mkdir -p "$cache/debs"
for spec in "$@"; do
	dir="$cache/$(printf '%s' "$spec" | tr '=:~+' '____')"
	[ -d "$dir" ] && continue
	name=${spec%%=*}
	if ! (cd "$cache/debs" && apt-get download -qq "$spec" 2>/dev/null); then
		# A clean machine may have no package lists yet.
		if [ "$(id -u)" = 0 ]; then apt-get update -qq; fi
		(cd "$cache/debs" && apt-get download -qq "$spec") || {
			echo "boot-files: cannot download $spec; if Debian no longer serves that version, update the pin in the Makefile" >&2
			exit 1
		}
	fi
	deb=$(ls -t "$cache/debs/${name}_"*.deb | head -1)
	rm -rf "$dir.tmp"
	dpkg-deb -x "$deb" "$dir.tmp"
	mv "$dir.tmp" "$dir"
done
