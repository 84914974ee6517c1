#!/usr/bin/env bash
# The README's demo: starts a local 3-node cluster in DIR (default /tmp/ringkv-demo) with
# ringkv-local and walks through the ringkv CLI: put, get, two concurrent blind puts that leave
# siblings, resolving them, delete, status. The cluster stays up afterwards.
# Usage: scripts/demo.sh [DIR]   (binaries from $RINGKV_BIN, default build/bin of this checkout;
# ports from $RINGKV_DEMO_BASE_PORT, default 7400: node i uses base+10(i-1) .. +2)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/ringkv-demo}
bin=${RINGKV_BIN:-$PWD/build/bin}
base=${RINGKV_DEMO_BASE_PORT:-7400}
for b in ringkv ringkv-local ringkv-storage ringkv-coordinator ringkv-gossip; do
  if [ ! -x "$bin/$b" ]; then
    echo "demo: $bin/$b is missing; build first: cmake -S . -B build && cmake --build build" >&2
    exit 1
  fi
done

step() { printf '\n== %s\n' "$*"; }
# Prints the command as typed (arguments with spaces in quotes), then runs it.
show() {
  local a line='$'
  for a in "$@"; do
    case $a in *' '*) line+=" \"$a\"" ;; *) line+=" $a" ;; esac
  done
  printf '%s\n' "${line/#\$ $bin\//\$ }"
  "$@"
}
ringkv() { "$bin/ringkv" "$@"; }

if [ -f "$dir/cluster.json" ]; then
  step "a cluster from an earlier run is in $dir: stopping it and starting afresh"
  "$bin/ringkv-local" down --dir "$dir"
  rm -rf "$dir"
fi

step "start a 3-node cluster in $dir (each node: storage, coordinator and gossip agents)"
printf '$ ringkv-local up --nodes 3 --dir %s --base-port %s\n' "$dir" "$base"
endpoints=$("$bin/ringkv-local" up --nodes 3 --dir "$dir" --base-port "$base")
echo "$endpoints"
export RINGKV_ENDPOINTS
RINGKV_ENDPOINTS=$(echo "$endpoints" | paste -sd, -)
echo "(the CLI tries these coordinators in order: RINGKV_ENDPOINTS=$RINGKV_ENDPOINTS)"

step "put a value, read it back (a put reads the key's context first, so it replaces)"
show ringkv put greeting "hello"
show ringkv get greeting
show ringkv put greeting "hello, world"
show ringkv get greeting

step "two concurrent blind puts (no context) through two coordinators: both versions are kept"
RINGKV_ENDPOINTS=${RINGKV_ENDPOINTS%%,*} show ringkv put --blind color "red" &
RINGKV_ENDPOINTS=${RINGKV_ENDPOINTS#*,} show ringkv put --blind color "blue" &
wait
show ringkv get color
echo "(siblings: neither write saw the other, so the store keeps both until a client resolves them)"

step "resolve: write the chosen value back with the context of the read that saw both"
show ringkv resolve color --pick 2
show ringkv get color

step "delete"
show ringkv del greeting
printf '$ ringkv get greeting\n'
set +e
"$bin/ringkv" get greeting
echo "(exit code $?: 1 means not found)"
set -e

step "cluster status as the coordinator sees it"
show ringkv status

step "the local processes"
show "$bin/ringkv-local" status --dir "$dir"

cat <<EOF

The cluster is still running. Try:
  export RINGKV_ENDPOINTS=$RINGKV_ENDPOINTS
  $bin/ringkv put mykey myvalue; $bin/ringkv get mykey
  $bin/ringkv-local kill n1 coordinator --dir $dir   # the CLI fails over to n2
Stop it with:
  $bin/ringkv-local down --dir $dir
EOF
