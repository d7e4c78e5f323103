#!/usr/bin/env bash
# Fetch the Kubernetes OpenAPI v3 specs (api/openapi-spec/v3/*.json) of k8s.io/kubernetes@VERSION into a cache
# directory OUTSIDE the work tree, for the offline schema validation in test/support/k8s-schema.ts.
#
#   scripts/fetch-k8s-openapi.sh [VERSION]        # default v1.34.3; prints the schema directory
#
# Cache: ${AIRGAP_K8S_CACHE:-$HOME/.cache/airgap-k8s}/openapi/<version>/ (a `.complete` stamp marks a finished fetch;
# a second run only prints the path). Source: the Go module proxy. With `go` installed the module is fetched with
# `go mod download`, which checks it against the checksum database (sum.golang.org, through the proxy); without go
# the zip is downloaded from $GOPROXY (default https://proxy.golang.org) and NOT checksum-verified (a warning says so).
# Nothing fetched here is committed.
set -euo pipefail

VERSION="${1:-v1.34.3}"
[[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "fetch-k8s-openapi: version must look like v1.34.3, got '$VERSION'" >&2; exit 2; }
CACHE="${AIRGAP_K8S_CACHE:-$HOME/.cache/airgap-k8s}"
DEST="$CACHE/openapi/$VERSION"

if [[ -f "$DEST/.complete" ]]; then
  echo "$DEST"
  exit 0
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/airgap-k8s-openapi.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

ZIP=""
if command -v go >/dev/null 2>&1; then
  # A throwaway module so that no go.mod of ours is involved; -mod=mod lets go resolve freely in it.
  (
    cd "$TMP"
    export GOFLAGS=-mod=mod GO111MODULE=on
    go mod init local/airgap-k8s-openapi >/dev/null 2>&1
    go mod download -json "k8s.io/kubernetes@$VERSION" >"$TMP/download.json"
  ) || { echo "fetch-k8s-openapi: go mod download k8s.io/kubernetes@$VERSION failed" >&2; exit 1; }
  ZIP="$(sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p' "$TMP/download.json")"
else
  PROXY="${GOPROXY:-https://proxy.golang.org}"
  PROXY="${PROXY%%,*}"
  echo "fetch-k8s-openapi: go not found; downloading from $PROXY WITHOUT checksum verification" >&2
  ZIP="$TMP/kubernetes.zip"
  curl -fsSL --retry 3 --max-time 600 -o "$ZIP" "$PROXY/k8s.io/kubernetes/@v/$VERSION.zip"
fi
[[ -n "$ZIP" && -f "$ZIP" ]] || { echo "fetch-k8s-openapi: module zip not found" >&2; exit 1; }

# Module zips hold paths as <module>@<version>/<path>; extract only the v3 specs.
PREFIX="k8s.io/kubernetes@$VERSION/api/openapi-spec/v3"
unzip -q -o "$ZIP" "$PREFIX/*.json" -d "$TMP/x"
COUNT="$(find "$TMP/x/$PREFIX" -name '*.json' | wc -l)"
[[ "$COUNT" -gt 0 ]] || { echo "fetch-k8s-openapi: no OpenAPI v3 specs in the module zip" >&2; exit 1; }

mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.tmp"
mv "$TMP/x/$PREFIX" "$DEST.tmp"
echo "k8s.io/kubernetes@$VERSION api/openapi-spec/v3: $COUNT files" >"$DEST.tmp/.complete"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "$DEST"
