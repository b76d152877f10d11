#!/usr/bin/env bash
# Starts the simulated vSphere (vice-vcsim) and a VCH endpoint (vice-engine with the vcsim backend plugin)
# in the background, state under .run/, and waits until `docker -H tcp://127.0.0.1:2375 version` answers.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${VICE_RUN_DIR:-$PWD/.run}
PORT=${VICE_PORT:-2375}
VCSIM_ADDR=${VICE_VCSIM_ADDR:-127.0.0.1:8989}
REGISTRY_ADDR=${VICE_REGISTRY_ADDR:-127.0.0.1:5000}
mkdir -p "$RUN/datastore" "$RUN/plugins"

"$(dirname "$0")/stop.sh" --quiet || true

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

log "starting the simulated vSphere (vice-vcsim) on $VCSIM_ADDR, datastore in $RUN/datastore"
rm -f "$RUN/vcsim.url"
setsid bin/vice-vcsim --listen "$VCSIM_ADDR" --datastore-dir "$RUN/datastore" --url-file "$RUN/vcsim.url" --run-dir "$RUN/guests" \
	>"$RUN/vcsim.out" 2>"$RUN/vcsim.log" </dev/null &
echo $! >"$RUN/vcsim.pid"
for _ in $(seq 1 100); do [ -s "$RUN/vcsim.url" ] && break; sleep 0.1; done
[ -s "$RUN/vcsim.url" ] || { echo "vice-vcsim did not start; see $RUN/vcsim.log" >&2; exit 1; }
URL=$(cat "$RUN/vcsim.url")

log "starting a local registry on $REGISTRY_ADDR, seeded with busybox and other test images"
setsid bin/vice-registry --listen "$REGISTRY_ADDR" >"$RUN/registry.out" 2>"$RUN/registry.log" </dev/null &
echo $! >"$RUN/registry.pid"

log "registering the vcsim backend plugin"
PLUGIN=$PWD/bin/vice-plugin-vcsim
cat >"$RUN/plugins/vcsim.json" <<JSON
{
  "name": "vcsim",
  "path": "$PLUGIN",
  "sha256": "$(sha256sum "$PLUGIN" | cut -d' ' -f1)",
  "apiVersion": 1,
  "args": ["--target", "$URL", "--name", "virtual-container-host",
           "--bootstrap-iso", "$PWD/bin/bootstrap.iso", "--attach-listen", "127.0.0.1:${VICE_ATTACH_PORT:-2377}"]
}
JSON

log "starting the VCH endpoint (vice-engine) on tcp://127.0.0.1:$PORT and unix://$RUN/docker.sock"
setsid bin/vice-engine -H "tcp://127.0.0.1:$PORT" -H "unix://$RUN/docker.sock" --plugins-dir "$RUN/plugins" \
	>"$RUN/engine.out" 2>"$RUN/engine.log" </dev/null &
echo $! >"$RUN/engine.pid"
for _ in $(seq 1 150); do
	docker -H "tcp://127.0.0.1:$PORT" version >/dev/null 2>&1 && break
	sleep 0.2
done
docker -H "tcp://127.0.0.1:$PORT" version >/dev/null || { echo "vice-engine did not answer; see $RUN/engine.log" >&2; exit 1; }

log "ready"
cat <<MSG

  export DOCKER_HOST=tcp://127.0.0.1:$PORT
  docker info
  docker pull $REGISTRY_ADDR/busybox

  logs: $RUN/engine.log, $RUN/vcsim.log, $RUN/registry.log        stop: make stop
MSG
