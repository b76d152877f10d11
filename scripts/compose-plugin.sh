#!/usr/bin/env bash
# Installs the docker compose v2 CLI plugin (compose v5) as ~/.docker/cli-plugins/docker-compose, built from its
# module in the Go module proxy: `go install` refuses the module (its go.mod has exclude directives), so the
# module is downloaded with `go mod download` and its cmd built with its own go.mod. Kept once built.
set -euo pipefail
VERSION=${COMPOSE_VERSION:-v5.6.0}
DEST=${COMPOSE_PLUGIN:-$HOME/.docker/cli-plugins/docker-compose}
if [ -x "$DEST" ] && "$DEST" version --short 2>/dev/null | grep -qx "${VERSION#v}"; then
	echo "docker compose ${VERSION} already installed ($DEST)"
	exit 0
fi
dir=$(go mod download -json "github.com/docker/compose/v5@${VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "go mod download of compose ${VERSION} gave no source" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/" && chmod -R u+w "$work"
mkdir -p "$(dirname "$DEST")"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=${VERSION}" \
	-o "$DEST.tmp" ./cmd)
mv "$DEST.tmp" "$DEST"
echo "docker compose ${VERSION} installed ($DEST)"
