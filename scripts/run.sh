#!/usr/bin/env bash
# Starts the simulated vSphere (vice-vcsim) and a local registry, then deploys a VCH on it with vice-machine,
# as an administrator would on vSphere: the endpoint is a VM that boots appliance.iso under the simulator's
# hypervisor emulator. State is under .run/; the docker environment is written to .run/docker.env.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${VICE_RUN_DIR:-$PWD/.run}
VCSIM_ADDR=${VICE_VCSIM_ADDR:-127.0.0.1:8989}
REGISTRY_ADDR=${VICE_REGISTRY_ADDR:-127.0.0.1:5000}
NAME=${VICE_VCH_NAME:-virtual-container-host}

"$(dirname "$0")/stop.sh" --quiet || true
# The simulator's inventory starts empty each time, so its datastore does too.
rm -rf "$RUN/datastore" "$RUN/guests" "$RUN/certs"
mkdir -p "$RUN/datastore" "$RUN/certs"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

log "starting the simulated vSphere (vice-vcsim) on $VCSIM_ADDR, datastore in $RUN/datastore"
rm -f "$RUN/vcsim.url"
setsid bin/vice-vcsim --listen "$VCSIM_ADDR" --datastore-dir "$RUN/datastore" --url-file "$RUN/vcsim.url" --run-dir "$RUN/guests" \
	>"$RUN/vcsim.out" 2>"$RUN/vcsim.log" </dev/null &
echo $! >"$RUN/vcsim.pid"
for _ in $(seq 1 100); do [ -s "$RUN/vcsim.url" ] && break; sleep 0.1; done
[ -s "$RUN/vcsim.url" ] || { echo "vice-vcsim did not start; see $RUN/vcsim.log" >&2; exit 1; }
THUMBPRINT=$(sed -n 's/^VCSIM_THUMBPRINT=//p' "$RUN/vcsim.out")
USERPASS=$(sed -E 's|^https://([^@]*)@.*|\1|' "$RUN/vcsim.url")

log "starting a local registry on $REGISTRY_ADDR, seeded with busybox and other test images"
setsid bin/vice-registry --listen "$REGISTRY_ADDR" >"$RUN/registry.out" 2>"$RUN/registry.log" </dev/null &
echo $! >"$RUN/registry.pid"

TARGET=(--target "$VCSIM_ADDR" --user "${USERPASS%%:*}" --password "${USERPASS#*:}" --thumbprint "$THUMBPRINT")
log "opening the hosts' firewall to the containerVMs' serial lines (vice-machine update firewall --allow)"
bin/vice-machine update firewall --allow "${TARGET[@]}" >"$RUN/firewall.log"

log "deploying the VCH \"$NAME\" with vice-machine create"
(cd "$RUN/certs" && "$OLDPWD/bin/vice-machine" create "${TARGET[@]}" --name "$NAME" --backend vcsim \
	--image-store datastore1 --bridge-network "VCH Bridge" --public-network "VM Network" --volume-store "datastore1/volumes/$NAME:default" \
	--appliance-iso "$OLDPWD/bin/appliance.iso" --bootstrap-iso "$OLDPWD/bin/bootstrap.iso") | tee "$RUN/create.log"

sed 's/^/export /' "$RUN/certs/$NAME/$NAME.env" >"$RUN/docker.env"
log "ready"
cat <<MSG

  . $RUN/docker.env        # $(tr '\n' ' ' <"$RUN/docker.env" | sed 's/export //g')
  docker info
  docker run --rm $REGISTRY_ADDR/busybox echo hello

  certificates: $RUN/certs/$NAME     logs: $RUN/vcsim.log (the endpoint: [datastore1] $NAME/appliance.log)
  stop: make stop
MSG
