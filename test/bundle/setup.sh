#!/usr/bin/env bash
# Prepares the bundle tier (`npm run test:bundle`), as root, after scripts/testbed/setup.sh (docker, the host image,
# keepalived/haproxy .debs): the other real Debian packages the tier's offline bundle carries, downloaded once into
# ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/bundle-test/<key>/<group>/ with `apt-get download`:
#   containerd   containerd (Debian's 1.6.20, with runc and whatever the host image lacks for it)
#   kubernetes   conntrack and socat (kubeadm/kubelet/kubectl, cri-tools and kubernetes-cni are not in Debian: the
#                test builds stand-ins of those with dpkg-deb)
#   registry     Debian's docker-registry (distribution 2.8): not part of the bundle, the private registry the
#                push-once path is tested against, on one of the hosts
# Each closure is computed against the host image's dpkg status (apt-get -s with Dir::State::status), exactly what
# the image lacks, as the bundle's fetch commands do on a minimal host. Idempotent; a second run takes a second.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
ROOT=${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}
CACHE=$ROOT/bundle-test
log() { printf 'bundle-setup: %s\n' "$*"; }
die() { printf 'bundle-setup: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (after scripts/testbed/setup.sh)"

status=$(ls "$ROOT"/testbed/rootfs-*.dpkg-status 2>/dev/null | head -n1 || true)
[ -n "$status" ] || die "no host image dpkg status in $ROOT/testbed: run scripts/testbed/setup.sh first"
declare -A GROUPS_PKGS=([containerd]="containerd" [kubernetes]="conntrack socat" [registry]="docker-registry")
KEY=$( { basename "$status"; for g in containerd kubernetes registry; do echo "$g=${GROUPS_PKGS[$g]}"; done; } | sha256sum | cut -c1-12)
DIR=$CACHE/$KEY
mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock -w 900 9 || die "another bundle setup holds $CACHE/.setup.lock"

if [ -f "$DIR/.done" ] && (cd "$DIR" && sha256sum --quiet -c SHA256SUMS); then
  log "cached: $DIR"
else
  ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || timeout 600 apt-get update -qq
  rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp"
  for g in containerd kubernetes registry; do
    # shellcheck disable=SC2086
    sim=$(apt-get -s -o Dir::State::status="$status" -o APT::Install-Recommends=false install ${GROUPS_PKGS[$g]})
    if grep -q '^Remv ' <<<"$sim"; then echo "$sim" >&2; die "installing ${GROUPS_PKGS[$g]} on the image would remove packages"; fi
    pkgs=$(sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' <<<"$sim" | sort)
    [ -n "$pkgs" ] || die "apt computed nothing to install for ${GROUPS_PKGS[$g]}"
    log "$g: $(tr '\n' ' ' <<<"$pkgs")"
    mkdir -p "$DIR.tmp/$g"
    chown _apt "$DIR.tmp/$g" 2>/dev/null || true
    # shellcheck disable=SC2086
    (cd "$DIR.tmp/$g" && timeout 900 apt-get download -qq $pkgs)
  done
  (cd "$DIR.tmp" && find . -name '*.deb' -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
  touch "$DIR.tmp/.done"
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
  log "$DIR: $(find "$DIR" -name '*.deb' | wc -l) .debs, $(du -sh "$DIR" | cut -f1)"
fi
# older keys, then the pointer the tests read
for d in "$CACHE"/*; do
  [ -d "$d" ] && [ ! -L "$d" ] && [ "$(basename "$d")" != "$KEY" ] && rm -rf "$d"
done
ln -sfn "$KEY" "$CACHE/current"
command -v dpkg-deb >/dev/null || die "dpkg-deb is needed to build the stand-in kubeadm/kubelet/kubectl packages"
log "done"
