#!/usr/bin/env bash
# The real offline bundle for a Debian 12 spec, built on this machine from upstream source (no registry, no package
# mirror for Kubernetes):
#   scripts/supply/build.sh [SPEC] [--out DIR] [--allow-missing] [--kubernetes-version vX.Y.Z]
# SPEC defaults to fixtures/valid-rehearsal.yaml. It builds (or finds cached) every component, then lays out exactly
# what `airgap-k8s bundle list SPEC` asks for, writes bundle.yaml (`bundle pack`) and runs `bundle verify SPEC DIR`.
# Components, each cached by version under ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/supply (warm: seconds):
#   scripts/toolchain/build.sh  kubeadm kubelet kubectl kube-* etcd (the spec's kubernetesVersion) from the Go module proxy
#   images.sh                   registry.k8s.io control-plane images, etcd, coredns, pause, local-path, busybox
#   calico.sh                   calico/node, calico/cni, calico/kube-controllers v3.27.0 from ../shared/upstream's source
#   debs.sh                     packages/debian12/{kubernetes,containerd,load-balancer}/*.deb
# Calico's manifest comes from ../shared/upstream/calico-<version>.yaml (read at build time, never in the repo).
# What cannot be built here (images of the dashboard, Headlamp, GPU Operator, kube-prometheus-stack, Dify, Ollama,
# vLLM; rhel8 packages; model files) is listed and makes the script exit 2, unless --allow-missing.
# Prints the bundle directory as its LAST stdout line; timings per component on stderr.
source "$(dirname "$0")/lib.sh"
SUPPLY_COMPONENT=build
SPEC=$REPO_ROOT/fixtures/valid-rehearsal.yaml OUT="" ALLOW_MISSING=0 KUBE_OVERRIDE=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --allow-missing) ALLOW_MISSING=1; shift ;;
    --kubernetes-version) KUBE_OVERRIDE=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) SPEC=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift ;;
  esac
done
[[ -f "$SPEC" ]] || die "no spec $SPEC"
if [[ -n "$KUBE_OVERRIDE" ]]; then
  # the same spec at another Kubernetes version (the upgrade test's target bundle)
  [[ "$KUBE_OVERRIDE" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "--kubernetes-version $KUBE_OVERRIDE: want vMAJOR.MINOR.PATCH"
  mkdir -p "$SUPPLY/specs"
  out="$SUPPLY/specs/$(basename "$SPEC" .yaml)-$KUBE_OVERRIDE.yaml"
  sed "s/^\( *kubernetesVersion: *\)v[0-9.]*/\1$KUBE_OVERRIDE/" "$SPEC" >"$out"
  SPEC=$out
fi
# the spec's Kubernetes version picks the toolchain, images and packages (v1.34.3 and v1.34.4 side by side in the
# cache: the upgrade test installs one and upgrades to the other)
K8S_VERSION=$(sed -n 's/^ *kubernetesVersion: *\(v[0-9.]*\).*/\1/p' "$SPEC" | head -n1)
export AIRGAP_K8S_KUBERNETES_VERSION=${K8S_VERSION:-v1.34.3}
cli() { (cd "$REPO_ROOT" && node --import tsx src/cli/main.ts "$@"); }
T0=$SECONDS

TOOLCHAIN=$(timed toolchain bash "$REPO_ROOT/scripts/toolchain/build.sh" | tail -n1)
IMAGES=$(timed images bash "$SUPPLY_SCRIPTS/images.sh" | tail -n1)
CALICO=$(timed calico bash "$SUPPLY_SCRIPTS/calico.sh" | tail -n1)
DEBS=$(timed debs bash "$SUPPLY_SCRIPTS/debs.sh" | tail -n1)
IMAGE_DIRS=("$IMAGES" "$CALICO/images")

LIST=$(cli bundle list "$SPEC" --json 2>/dev/null) || die "airgap-k8s bundle list $SPEC failed"
NAME=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"])' <<<"$LIST")-$AIRGAP_K8S_KUBERNETES_VERSION
KEY=$( { cat "$SPEC"; cat "$0"; for d in "$TOOLCHAIN" "${IMAGE_DIRS[@]}" "$DEBS"; do echo "$d"; done; } | sha256sum | cut -c1-12)
[[ -n "$OUT" ]] || OUT=$SUPPLY/bundles/$NAME-$KEY
if [[ -f "$OUT.key" && "$(cat "$OUT.key")" == "$KEY" ]] && cli bundle verify "$SPEC" "$OUT" >/dev/null 2>&1; then
  say "cached and verified: $OUT"
  ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/$NAME" 2>/dev/null || true
  echo "$OUT"; exit 0
fi
lock "bundle-$NAME"
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
B=$OUT.tmp
MISSING=()
# place SRC DEST: a hard link when possible (same filesystem as the cache), else a copy
place() { mkdir -p "$(dirname "$B/$2")"; ln -f "$1" "$B/$2" 2>/dev/null || cp "$1" "$B/$2"; }

while IFS=$'\t' read -r kind path os extra; do
  case "$kind" in
    os-package)
      src=$DEBS/$path
      if [[ "$os" != debian12 ]]; then MISSING+=("$path: $os packages cannot be built here (Debian 12 only)"); continue; fi
      ls "$src"/*.deb >/dev/null 2>&1 || { MISSING+=("$path: debs.sh produced no $path"); continue; }
      for f in "$src"/*.deb; do place "$f" "$path/$(basename "$f")"; done ;;
    image)
      found=""
      for d in "${IMAGE_DIRS[@]}"; do [[ -f "$d/$(basename "$path")" ]] && found=$d/$(basename "$path") && break; done
      if [[ -n "$found" ]]; then place "$found" "$path"; else MISSING+=("$path: $extra (no source build here)"); fi ;;
    manifest)
      if [[ "$extra" == calico && -f "$UPSTREAM/calico-$os.yaml" ]]; then place "$UPSTREAM/calico-$os.yaml" "$path"
      else MISSING+=("$path: upstream $extra $os not in $UPSTREAM"); fi ;;
    *) MISSING+=("$path: $kind $extra (not built here)") ;;
  esac
done < <(python3 -c '
import json, sys
for i in json.load(sys.stdin)["items"]:
    k = i["kind"]
    third = i.get("os") or i.get("version") or ""
    extra = i.get("image") or i.get("name")
    print("\t".join([k, i["path"], third, extra]))
' <<<"$LIST")

if [[ ${#MISSING[@]} -gt 0 ]]; then
  say "the spec needs ${#MISSING[@]} item(s) this machine cannot build:"
  printf '  %s\n' "${MISSING[@]}" >&2
  [[ $ALLOW_MISSING == 1 ]] || { rm -rf "$B"; exit 2; }
fi
cli bundle pack "$B" >&2 || die "bundle pack $B failed"
if [[ $ALLOW_MISSING == 0 ]]; then
  cli bundle verify "$SPEC" "$B" >&2 || die "bundle verify failed for $B (see above)"
fi
rm -rf "$OUT" "$OUT.key" && mv "$B" "$OUT"
echo "$KEY" >"$OUT.key"
ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/$NAME" 2>/dev/null || true
# older bundles of this spec in the cache (hard links into the component caches: little space, but no reason to
# keep them); never anything beside an --out directory
if [[ "$(dirname "$OUT")" == "$SUPPLY/bundles" ]]; then
  for old in "$SUPPLY/bundles/$NAME"-*; do
    [[ "$old" == "$OUT" || "$old" == "$OUT.key" || ! -e "$old" ]] || rm -rf "$old"
  done
fi
say "bundle $OUT: $(du -sh "$OUT" | cut -f1) in $(( SECONDS - T0 ))s"
(cd "$OUT" && du -sh packages/*/* images 2>/dev/null | sed 's/^/  /' >&2)
echo "$OUT"
