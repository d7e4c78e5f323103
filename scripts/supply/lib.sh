# Shared by the scripts/supply/*.sh builders (sourced, not run). Each builder produces one component of the real
# offline supply from upstream source, cached by version under $SUPPLY (a warm run verifies and returns in seconds):
#   $SUPPLY/<component>-<version>/          what the component built (bin/, rootfs/, debs/ ...)
#   $SUPPLY/<component>-<version>/SHA256SUMS checksums of every file in it, written last: no SHA256SUMS, no trust
# Go builds share the toolchain's module and build caches ($CACHE/go), never the work tree.
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
CACHE=${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}
SUPPLY=$CACHE/supply
SUPPLY_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SUPPLY_SCRIPTS/../.." && pwd)
UPSTREAM=${AIRGAP_K8S_UPSTREAM:-$(cd "$REPO_ROOT/../shared/upstream" 2>/dev/null && pwd || echo /nonexistent)}
# Files in images and packages get this mtime (reproducible builds); mkimage.py reads the same variable.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-946684800}
mkdir -p "$SUPPLY"

say() { printf 'supply[%s]: %s\n' "${SUPPLY_COMPONENT:-main}" "$*" >&2; }
die() { printf 'supply[%s]: ERROR: %s\n' "${SUPPLY_COMPONENT:-main}" "$*" >&2; exit 1; }

# go_env: the toolchain's caches, static binaries, no VCS stamping, nice'd builds (go_build ARGS...).
go_env() {
  command -v go >/dev/null || die "go not found (Go >= 1.24 is needed to build the supply)"
  export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOPATH="$CACHE/go/path"
  export CGO_ENABLED=0 GOTOOLCHAIN=local GO111MODULE=on GOFLAGS="-mod=mod -buildvcs=false"
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  mkdir -p "$GOMODCACHE" "$GOCACHE" "$GOPATH"
}
go_build() { nice -n "${AIRGAP_K8S_NICE:-10}" go build -p "${AIRGAP_K8S_BUILD_P:-2}" -trimpath "$@"; }

# cached DIR: true when DIR/SHA256SUMS exists and verifies (the component is done).
cached() { [[ -f "$1/SHA256SUMS" ]] && (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1); }
# seal DIR: write DIR/SHA256SUMS over every regular file in DIR (last step of a component build).
seal() { (cd "$1" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | sort | xargs -r -d '\n' sha256sum -- >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS); }
# lock NAME: one builder of NAME at a time on this machine (fd 8).
lock() { exec 8>"$SUPPLY/.$1.lock"; flock -w 7200 8 || die "another build holds $SUPPLY/.$1.lock"; }
# timed LABEL CMD...: run CMD, print how long it took.
timed() { local t0=$SECONDS label=$1; shift; "$@"; say "$label: $(( SECONDS - t0 ))s"; }
