#!/usr/bin/env bash
# Provides the real Kubernetes v1.34.3 programs the `k8s` test tier runs our files through:
#   kubeadm kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy (v1.34.3),
#   etcd (v3.6.5, the etcd kubeadm v1.34.3 deploys), and helm (v3.14.4) when it builds.
#
#   scripts/toolchain/build.sh        # `npm run toolchain`; prints the bin directory as its LAST stdout line
#
# Where the binaries come from, in this order:
#   1. AIRGAP_K8S_TOOLCHAIN_DIR=/path  a directory you provide (e.g. the official release binaries when you have
#      internet). Nothing is built or copied; every binary's version is checked and that directory is printed.
#   2. the cache ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/toolchain/v1.34.3/bin/ when its SHA256SUMS verifies
#      and the versions are right (a warm run takes seconds).
#   3. otherwise a build from the Go module proxy (no registry, no GitHub needed): a wrapper module, generated here
#      in the cache (never in the work tree), that requires k8s.io/kubernetes and replaces its 31 staging modules
#      with their published v0.34.3 releases; version ldflags as the upstream release sets them (kubeadm misjudges
#      version skew without them). etcd from a second wrapper module requiring go.etcd.io/etcd/server/v3.
#      GOMODCACHE and GOCACHE live in the cache too, so a rebuild after a cache wipe of bin/ is fast.
#      Runs under `nice`. Measured on 2 cores with go1.26.8: cold 75 min wall, 32 CPU-min (the machine was shared with
#      other builds: load 12-18, this build got 42% of one core), of which helm 10 min; rebuild with a warm Go cache
#      2 min 51 s (byte-identical binaries); warm run (checksums + versions) 5 s. On an idle 2-core machine the cold
#      build should take about 20 min (CPU time / 2 cores; estimate).
#
# Fails loudly (exit 1) when a required binary is missing or reports another version. helm is optional: when it
# cannot be built the reason is printed and recorded in bin/HELM-UNAVAILABLE, and the script still succeeds.
# Progress and timings go to stderr. Concurrent invocations serialise on a lock in the cache directory.
# Knobs: AIRGAP_K8S_HELM=0 (skip helm), AIRGAP_K8S_BUILD_P (go build -p, default 2), AIRGAP_K8S_NICE (default 10),
# AIRGAP_K8S_GIT_COMMIT (gitCommit ldflag; the proxy does not tell the release commit, so it is empty by default).
set -euo pipefail

# AIRGAP_K8S_KUBERNETES_VERSION picks another release (the day-two upgrade test builds v1.34.4 beside v1.34.3)
K8S_VERSION="${AIRGAP_K8S_KUBERNETES_VERSION:-v1.34.3}"
[[ "$K8S_VERSION" =~ ^v1\.34\.[0-9]+$ ]] || { printf 'toolchain: ERROR: %s\n' "AIRGAP_K8S_KUBERNETES_VERSION=$K8S_VERSION: only v1.34.x is supported (etcd and staging versions are per minor)" >&2; exit 2; }
ETCD_VERSION=v3.6.5
HELM_VERSION=v3.14.4
REQUIRED=(kubeadm kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd)
K8S_CMDS=(kubeadm kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
# The staging modules of k8s.io/kubernetes v1.34 (staging/src/k8s.io/*); each is published as k8s.io/<m> v0.34.x.
STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider cluster-bootstrap
  code-generator component-base component-helpers controller-manager cri-api cri-client csi-translation-lib
  dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
  kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin
  sample-controller)
STAGING_VERSION="v0.${K8S_VERSION#v1.}"

say() { printf 'toolchain: %s\n' "$*" >&2; }
die() { printf 'toolchain: ERROR: %s\n' "$*" >&2; exit 1; }
T0=$SECONDS
STEP_T=$SECONDS
step() { STEP_T=$SECONDS; say "$*"; }
done_step() { say "  done in $(( SECONDS - STEP_T ))s${1:+ ($1)}"; }

# version_of NAME PATH -> prints the version the binary reports, normalised to vX.Y.Z (empty when it cannot tell).
version_of() {
  local name="$1" bin="$2" out=""
  case "$name" in
    kubeadm) out="$("$bin" version -o short 2>/dev/null)" ;;
    kubectl) out="$("$bin" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n1)" ;;
    etcd) out="v$("$bin" --version 2>/dev/null | sed -n 's/^etcd Version: *//p')" ;;
    helm) out="$("$bin" version --template '{{.Version}}' 2>/dev/null)" ;;
    *) out="$("$bin" --version 2>/dev/null | sed -n 's/^Kubernetes *//p')" ;;
  esac
  printf '%s' "$out"
}
want_version() { case "$1" in etcd) echo "$ETCD_VERSION" ;; helm) echo "$HELM_VERSION" ;; *) echo "$K8S_VERSION" ;; esac; }

# check_versions DIR -> 0 when every required binary in DIR is executable and reports the wanted version.
# Prints one line per binary. helm is checked when present, and a wrong helm version is an error too.
check_versions() {
  local dir="$1" ok=0 name got want
  for name in "${REQUIRED[@]}" helm; do
    want="$(want_version "$name")"
    if [[ ! -x "$dir/$name" ]]; then
      if [[ "$name" == helm ]]; then say "  helm: not present (optional)"; continue; fi
      say "  $name: MISSING in $dir"; ok=1; continue
    fi
    got="$(version_of "$name" "$dir/$name")"
    if [[ "$got" == "$want" ]]; then
      say "  $name: $got"
    else
      say "  $name: reports '${got}', want $want"; ok=1
    fi
  done
  return $ok
}

# ---- 1. a directory the user points to -------------------------------------------------------------------------
if [[ -n "${AIRGAP_K8S_TOOLCHAIN_DIR:-}" ]]; then
  DIR="$(cd "$AIRGAP_K8S_TOOLCHAIN_DIR" 2>/dev/null && pwd)" || die "AIRGAP_K8S_TOOLCHAIN_DIR=$AIRGAP_K8S_TOOLCHAIN_DIR is not a directory"
  step "using binaries from AIRGAP_K8S_TOOLCHAIN_DIR=$DIR (nothing is built); checking versions"
  if [[ -f "$DIR/SHA256SUMS" ]]; then
    (cd "$DIR" && sha256sum --quiet -c SHA256SUMS >&2) || die "$DIR/SHA256SUMS does not verify"
    say "  SHA256SUMS verifies"
  fi
  check_versions "$DIR" || die "binaries in $DIR are not Kubernetes $K8S_VERSION / etcd $ETCD_VERSION (see above)"
  done_step
  say "ready in $(( SECONDS - T0 ))s: $DIR"
  echo "$DIR"
  exit 0
fi

CACHE="${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}"
ROOT="$CACHE/toolchain/$K8S_VERSION"
BIN="$ROOT/bin"
mkdir -p "$ROOT" || die "cannot create $ROOT (set AIRGAP_K8S_CACHE to a writable directory)"

# One build at a time: parallel test files call this script from their beforeAll.
exec 9>"$ROOT/.lock"
if ! flock -n 9; then
  say "another toolchain run holds $ROOT/.lock; waiting for it"
  flock 9
fi

# ---- 2. the cache ------------------------------------------------------------------------------------------------
if [[ -f "$BIN/SHA256SUMS" ]]; then
  step "cache found: $BIN; verifying SHA256SUMS and versions"
  if (cd "$BIN" && sha256sum --quiet -c SHA256SUMS >&2) && check_versions "$BIN"; then
    [[ -f "$BIN/HELM-UNAVAILABLE" ]] && say "  helm: unavailable ($(head -n1 "$BIN/HELM-UNAVAILABLE"))"
    done_step "warm: nothing built"
    say "ready in $(( SECONDS - T0 ))s: $BIN"
    echo "$BIN"
    exit 0
  fi
  say "  the cache does not verify; rebuilding"
fi

# ---- 3. build ------------------------------------------------------------------------------------------------------
command -v go >/dev/null || die "go not found: install Go >= 1.24, or set AIRGAP_K8S_TOOLCHAIN_DIR to a directory with the release binaries"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOPATH="$CACHE/go/path"
export CGO_ENABLED=0 GOTOOLCHAIN=local GO111MODULE=on GOFLAGS="-mod=mod -buildvcs=false"
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
NICE=(nice -n "${AIRGAP_K8S_NICE:-10}")
PAR="${AIRGAP_K8S_BUILD_P:-2}"
say "cold build of Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION with $(go version | cut -d' ' -f3) (-p $PAR, nice)"
say "  cache $CACHE (GOMODCACHE, GOCACHE, sources of the wrapper modules, bin)"
STAGE="$ROOT/bin.new"
rm -rf "$STAGE"
mkdir -p "$STAGE" "$GOMODCACHE" "$GOCACHE" "$GOPATH"

# The release's commit time, from the proxy, is the build date: reproducible, and honest about what was built.
module_time() { (cd "$1" && go list -m -json "$2" 2>/dev/null | sed -n 's/^[[:space:]]*"Time": "\(.*\)",\{0,1\}$/\1/p' | head -n1); }

# -- Kubernetes
KSRC="$ROOT/src/kubernetes"
step "[1/4] generating the wrapper module $KSRC and resolving k8s.io/kubernetes@$K8S_VERSION"
rm -rf "$KSRC"; mkdir -p "$KSRC"
(
  cd "$KSRC"
  go mod init local/airgap-k8s-toolchain >/dev/null 2>&1
  go mod edit -go=1.24.0 -godebug=default=go1.24
  for m in "${STAGING[@]}"; do go mod edit -replace "k8s.io/$m=k8s.io/$m@$STAGING_VERSION"; done
  pkgs=(); for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c@$K8S_VERSION"); done
  go get "${pkgs[@]}" >&2
) || die "resolving k8s.io/kubernetes@$K8S_VERSION failed (is the Go module proxy $GOPROXY reachable?)"
done_step "$(grep -c . "$KSRC/go.sum") go.sum lines"

BUILD_DATE="$(module_time "$KSRC" "k8s.io/kubernetes")"
BUILD_DATE="${BUILD_DATE:-1970-01-01T00:00:00Z}"
LDF="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDF+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION")"
  LDF+=" -X $pkg.gitCommit=${AIRGAP_K8S_GIT_COMMIT:-} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

step "[2/4] building ${K8S_CMDS[*]} (the long step)"
pkgs=(); for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
(cd "$KSRC" && "${NICE[@]}" go build -p "$PAR" -trimpath -ldflags "$LDF" -o "$STAGE/" "${pkgs[@]}") \
  || die "go build of the Kubernetes commands failed (see above)"
done_step

# -- etcd
ESRC="$ROOT/src/etcd"
step "[3/4] building etcd $ETCD_VERSION (wrapper module $ESRC)"
rm -rf "$ESRC"; mkdir -p "$ESRC"
(
  cd "$ESRC"
  go mod init local/airgap-k8s-etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  "${NICE[@]}" go build -p "$PAR" -trimpath -ldflags "-s -w" -o "$STAGE/etcd" go.etcd.io/etcd/server/v3
) || die "building etcd $ETCD_VERSION failed (see above)"
done_step

# -- helm (optional; AIRGAP_K8S_HELM=0 skips it, ~10 min of a cold build)
step "[4/4] building helm $HELM_VERSION (optional)"
HLOG="$ROOT/helm-build.log"
HV=helm.sh/helm/v3/internal/version
if [[ "${AIRGAP_K8S_HELM:-1}" == 0 ]]; then
  echo "skipped: AIRGAP_K8S_HELM=0" >"$STAGE/HELM-UNAVAILABLE"
  say "  skipped (AIRGAP_K8S_HELM=0)"
elif (cd "$ROOT" && GOFLAGS=-buildvcs=false GOBIN="$STAGE" "${NICE[@]}" go install -p "$PAR" -trimpath \
      -ldflags "-s -w -X $HV.version=$HELM_VERSION -X $HV.metadata= -X $HV.gitTreeState=clean" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >"$HLOG" 2>&1; then
  done_step
else
  tail -n 20 "$HLOG" >&2
  { echo "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed with $(go version | cut -d' ' -f3); last lines:"; tail -n 20 "$HLOG"; } >"$STAGE/HELM-UNAVAILABLE"
  rm -f "$STAGE/helm"
  say "  helm could NOT be built (full log: $HLOG); continuing without it"
fi

step "checking versions of what was built"
check_versions "$STAGE" || die "the built binaries report the wrong versions (see above); $STAGE kept for inspection"
[[ "$(version_of kubeadm "$STAGE/kubeadm")" == "$K8S_VERSION" ]] || die "kubeadm version -o short is not $K8S_VERSION"
done_step

# The manifest is written last: a bin/ without SHA256SUMS is never trusted.
(cd "$STAGE" && sha256sum -- "${REQUIRED[@]}" $( [[ -x helm ]] && echo helm ) >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
{
  echo "kubernetes $K8S_VERSION (k8s.io/kubernetes@$K8S_VERSION, staging $STAGING_VERSION, buildDate $BUILD_DATE)"
  echo "etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3@$ETCD_VERSION)"
  [[ -x "$STAGE/helm" ]] && echo "helm $HELM_VERSION" || echo "helm unavailable"
  echo "built with $(go version | cut -d' ' -f3-) in $(( SECONDS - T0 ))s on $(nproc) cores, CGO_ENABLED=0 -trimpath"
} >"$STAGE/BUILDINFO"
rm -rf "$BIN"
mv "$STAGE" "$BIN"
du -sh "$BIN" | sed 's/^/toolchain:   size /' >&2
say "built in $(( SECONDS - T0 ))s: $BIN"
echo "$BIN"
