#!/usr/bin/env bash
# Provides a real containerd 2.x (v2.1.4) for the `tools` test tier: test/tools/containerd.test.ts runs our
# `version = 3` config.toml files (containerd 2.x hosts) through `containerd --config F config dump` with it.
# Debian's containerd (1.6.x, scripts/setup-tools.sh) only reads `version = 2`.
#
#   scripts/toolchain/containerd2.sh   # prints the path of the containerd binary as its LAST stdout line
#
# Built from the Go module proxy (GitHub is not needed): first `go install github.com/containerd/containerd/v2/cmd/containerd@v2.1.4`,
# which Go refuses (the module's go.mod has `exclude` directives), then `go build ./cmd/containerd` in a writable copy of the
# module source from the proxy (the module as main module, its go.sum verifies every dependency)
# with CGO_ENABLED=0 (enough for `config dump`; no btrfs/devmapper/seccomp, which config dump does not need).
# Version ldflags as upstream sets them, so `containerd --version` reports v2.1.4.
# Cache: ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/containerd/v2.1.4/bin/containerd, reused when it exists and
# `containerd --version` says v2.1.4. GOMODCACHE/GOCACHE are the ones scripts/toolchain/build.sh uses
# ($CACHE/go/mod, $CACHE/go/build), so the shared modules are already there.
# Runs under `nice -n ${AIRGAP_K8S_NICE:-10}`. Progress and timings go to stderr. Concurrent runs serialise on a lock.
set -euo pipefail

VERSION=v2.1.4
PKG=github.com/containerd/containerd/v2
CACHE="${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}"
DEST="$CACHE/containerd/$VERSION/bin"
BIN="$DEST/containerd"

say() { printf 'containerd2: %s\n' "$*" >&2; }
die() { printf 'containerd2: ERROR: %s\n' "$*" >&2; exit 1; }
T0=$SECONDS

reports_version() { [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q " ${VERSION}\b"; }

mkdir -p "$DEST"
exec 9>"$CACHE/containerd/.lock"
if ! flock -n 9; then
  say "another build holds $CACHE/containerd/.lock; waiting"
  flock 9
fi

if reports_version; then
  say "cached: $BIN ($("$BIN" --version)) in $(( SECONDS - T0 ))s"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || die "go is not installed"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOPATH="$CACHE/go/path"
export CGO_ENABLED=0 GOTOOLCHAIN=local GO111MODULE=on GOFLAGS="-buildvcs=false"
mkdir -p "$GOMODCACHE" "$GOCACHE" "$GOPATH"
STAGE="$(mktemp -d "$CACHE/containerd/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

say "building $PKG/cmd/containerd@$VERSION with $(go version | cut -d' ' -f3) (CGO_ENABLED=0, nice ${AIRGAP_K8S_NICE:-10})"
LDFLAGS="-s -w -X $PKG/version.Version=$VERSION -X $PKG/version.Package=github.com/containerd/containerd/v2"
TAGS="no_btrfs no_devmapper no_zfs"
# `go install pkg@version` refuses containerd's module: its go.mod has `exclude` directives. So the fallback builds
# the module as the main module: download its source (proxy), copy it writable into the cache, `go build` there.
T1=$SECONDS
if GOBIN="$STAGE" nice -n "${AIRGAP_K8S_NICE:-10}" go install -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" \
  "$PKG/cmd/containerd@$VERSION" >&2 2>"$STAGE/install.err"; then
  say "  go install done in $(( SECONDS - T1 ))s"
else
  sed 's/^/  /' "$STAGE/install.err" >&2
  say "  go install @$VERSION refused after $(( SECONDS - T1 ))s; building the module as main module instead"
  T1=$SECONDS
  SRC_DIR="$(go mod download -json "$PKG@$VERSION" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",*$/\1/p')"
  [[ -n "$SRC_DIR" && -f "$SRC_DIR/go.mod" ]] || die "go mod download $PKG@$VERSION gave no source directory"
  say "  source downloaded in $(( SECONDS - T1 ))s: $SRC_DIR"
  SRC="$CACHE/containerd/$VERSION/src"
  rm -rf "$SRC" && mkdir -p "$SRC" && cp -a "$SRC_DIR/." "$SRC/" && chmod -R u+w "$SRC"
  T1=$SECONDS
  (cd "$SRC" && nice -n "${AIRGAP_K8S_NICE:-10}" go build -mod=mod -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" \
    -o "$STAGE/containerd" ./cmd/containerd >&2) || die "go build ./cmd/containerd ($VERSION) failed after $(( SECONDS - T0 ))s"
  say "  go build done in $(( SECONDS - T1 ))s"
fi
mv -f "$STAGE/containerd" "$BIN"
reports_version || die "$BIN does not report $VERSION: $("$BIN" --version 2>&1 || true)"
say "built $BIN ($("$BIN" --version)) in $(( SECONDS - T0 ))s"
echo "$BIN"
