#!/usr/bin/env bash
# How long a user's install of airgap-k8s takes and how big it is, for the two uses the README names:
#   generators only:  npm install airgap-k8s                (zod and js-yaml; nothing compiled)
#   full:             npm install airgap-k8s better-sqlite3 hono @hono/node-server @hono/zod-openapi ssh2
# Each into an empty project with an EMPTY npm cache of its own (cold: every package fetched from the registry), from
# the tarball `npm pack` makes of this checkout. Prints time, `du -sh node_modules` and any compiled .node files.
# Not part of npm test (the full install compiles better-sqlite3 for minutes); the README quotes its output.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/airgap-k8s-measure-XXXXXX)
trap 'rm -rf "$work"' EXIT
tgz=$(npm pack --silent --pack-destination "$work" | tail -1)
peers=$(node -e 'const p=require("./package.json").peerDependencies; console.log(["better-sqlite3","hono","@hono/node-server","@hono/zod-openapi","ssh2"].map(n=>`${n}@${p[n]}`).join(" "))')
measure() {
  local name=$1; shift
  local dir="$work/$name"
  mkdir -p "$dir" && cd "$dir"
  echo '{"name":"measure","private":true,"type":"module"}' > package.json
  local t0; t0=$(date +%s.%N)
  npm install "$work/$tgz" "$@" --cache "$work/cache-$name" --no-audit --no-fund --loglevel=error >/dev/null
  local t1; t1=$(date +%s.%N)
  printf '%-16s npm install %s: %.1f s, node_modules %s, compiled: %s\n' "$name" "airgap-k8s${*:+ $*}" \
    "$(echo "$t1 - $t0" | bc)" "$(du -sh node_modules | cut -f1)" \
    "$(find node_modules -name '*.node' -path '*build/Release*' -printf '%P ' | sed 's/ $//' || true)"
  cd - >/dev/null
}
echo "node $(node --version), npm $(npm --version), $(nproc) cores"
measure generators-only
# shellcheck disable=SC2086
measure full $peers
