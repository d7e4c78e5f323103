#!/usr/bin/env bash
# The Kubernetes images of the offline supply, built here from upstream source without any registry:
#   registry.k8s.io/kube-apiserver|kube-controller-manager|kube-scheduler:v1.34.3   (toolchain binaries; static base)
#   registry.k8s.io/kube-proxy:v1.34.3          (toolchain binary on the Debian net base: iptables, ipset, conntrack)
#   registry.k8s.io/etcd:3.6.5-0                (etcd from the toolchain + etcdctl, etcdutl built here)
#   registry.k8s.io/coredns/coredns:v1.12.1     (github.com/coredns/coredns; user nonroot with cap_net_bind_service)
#   registry.k8s.io/pause:3.10.1                (pause.c from the k8s.io/kubernetes module, gcc -static)
#   docker.io/rancher/local-path-provisioner:v0.0.30 (the newest version the Go module proxy serves)
#   docker.io/library/busybox:1.35.0            (Debian's busybox-static 1.35.0, the local-path helper)
# Each is a reproducible docker-archive written by mkimage.py into $SUPPLY/images-<key>/images/<ref with /:@ as _>.tar.
# Entrypoints and users follow upstream's Dockerfiles (read upstream, written here), with one difference: the
# control-plane images run the binary directly instead of through upstream's go-runner log wrapper (kubeadm's
# static pods give the command; go-runner is not in the module proxy's reach).
# Prints the images directory as its LAST stdout line. Warm: seconds.
source "$(dirname "$0")/lib.sh"
SUPPLY_COMPONENT=images
K8S=${AIRGAP_K8S_KUBERNETES_VERSION:-v1.34.3} ETCD=v3.6.5 ETCD_TAG=3.6.5-0 COREDNS=v1.12.1 PAUSE=3.10.1 LOCALPATH=v0.0.30 BUSYBOX=1.35.0

STATIC=$(bash "$SUPPLY_SCRIPTS/base.sh" static | tail -n1)
NET=$(bash "$SUPPLY_SCRIPTS/base.sh" net | tail -n1)
go_env
T0=$SECONDS

# ---- Go programs not in the toolchain (each cached by version in $SUPPLY/gobin-<name>-<version>) ----------------
# gobuild NAME VERSION MODULE@VERSION PACKAGE OUTNAME LDFLAGS: a wrapper module requiring MODULE (go install refuses
# modules with replace directives), built static.
gobuild() {
  local name=$1 version=$2 req=$3 pkg=$4 out=$5 ldf=$6 dir=$SUPPLY/gobin-$1-$2
  if cached "$dir"; then echo "$dir/$out"; return; fi
  rm -rf "$dir" && mkdir -p "$dir/src"
  say "building $name $version ($pkg)"
  (cd "$dir/src" && go mod init "local/airgap-k8s-$name" >/dev/null 2>&1 && go get "$req" >&2 &&
    go_build -ldflags "-s -w $ldf" -o "$dir/$out" "$pkg" >&2) || die "building $name $version failed"
  rm -rf "$dir/src"
  seal "$dir"
  echo "$dir/$out"
}
t=$SECONDS
COREDNS_BIN=$(gobuild coredns $COREDNS github.com/coredns/coredns@$COREDNS github.com/coredns/coredns coredns \
  "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS")
ETCDCTL_BIN=$(gobuild etcdctl $ETCD go.etcd.io/etcd/etcdctl/v3@$ETCD go.etcd.io/etcd/etcdctl/v3 etcdctl "")
ETCDUTL_BIN=$(gobuild etcdutl $ETCD go.etcd.io/etcd/etcdutl/v3@$ETCD go.etcd.io/etcd/etcdutl/v3 etcdutl "")
LOCALPATH_BIN=$(gobuild local-path-provisioner $LOCALPATH github.com/rancher/local-path-provisioner@$LOCALPATH \
  github.com/rancher/local-path-provisioner local-path-provisioner "-X main.VERSION=$LOCALPATH")
say "go programs: $(( SECONDS - t ))s"

# ---- pause: the C program kubeadm's sandbox image runs, from the k8s.io/kubernetes module ------------------------
PAUSE_SRC=$GOMODCACHE/k8s.io/kubernetes@$K8S/build/pause/linux/pause.c
[[ -f "$PAUSE_SRC" ]] || (cd "$REPO_ROOT" && go mod download -json "k8s.io/kubernetes@$K8S" >/dev/null) || true
[[ -f "$PAUSE_SRC" ]] || die "no $PAUSE_SRC (k8s.io/kubernetes@$K8S is not in the module cache)"
command -v gcc >/dev/null || apt-get install -y -qq gcc libc6-dev >&2

# ---- busybox: Debian's static build ---------------------------------------------------------------------------------
BUSYBOX_DIR=$SUPPLY/busybox-$BUSYBOX
if ! cached "$BUSYBOX_DIR"; then
  rm -rf "$BUSYBOX_DIR" && mkdir -p "$BUSYBOX_DIR/deb"
  chown _apt "$BUSYBOX_DIR/deb" 2>/dev/null || true
  v=$(apt-cache policy busybox-static | sed -n 's/^ *Candidate: *//p')
  [[ "$v" == *":$BUSYBOX-"* ]] || { apt-get update -qq; v=$(apt-cache policy busybox-static | sed -n 's/^ *Candidate: *//p'); }
  [[ "$v" == *":$BUSYBOX-"* ]] || die "Debian's busybox-static is '$v', not $BUSYBOX"
  (cd "$BUSYBOX_DIR/deb" && apt-get download -qq "busybox-static=$v")
  seal "$BUSYBOX_DIR"
fi

# the Kubernetes binaries last: the toolchain may still be building (it holds its own lock)
TOOLCHAIN=$(bash "$REPO_ROOT/scripts/toolchain/build.sh" | tail -n1)
KEY=$( { cat "$0" "$SUPPLY_SCRIPTS/mkimage.py"; cat "$TOOLCHAIN/SHA256SUMS"; echo "$STATIC $NET $COREDNS_BIN $ETCDCTL_BIN $ETCDUTL_BIN $LOCALPATH_BIN"; cat "$BUSYBOX_DIR/SHA256SUMS"; } | sha256sum | cut -c1-12)
OUT=$SUPPLY/images-$KEY
if cached "$OUT"; then say "cached: $OUT"; echo "$OUT/images"; exit 0; fi
lock images
if cached "$OUT"; then echo "$OUT/images"; exit 0; fi
rm -rf "$OUT" && mkdir -p "$OUT/images" "$OUT/layers"
L=$OUT/layers
img() { python3 "$SUPPLY_SCRIPTS/mkimage.py" --out "$OUT/images/$(tr '/:@' '___' <<<"$1").tar" --ref "$@" >&2; }

# control plane: upstream's server images put the binary in /usr/local/bin (kubeadm's static pods call it by name)
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  mkdir -p "$L/$c/usr/local/bin" && install -m 0755 "$TOOLCHAIN/$c" "$L/$c/usr/local/bin/$c"
  img "registry.k8s.io/$c:$K8S" --layer "$STATIC" --layer "$L/$c" --entrypoint "[\"/usr/local/bin/$c\"]"
done
mkdir -p "$L/kube-proxy/usr/local/bin" && install -m 0755 "$TOOLCHAIN/kube-proxy" "$L/kube-proxy/usr/local/bin/kube-proxy"
img "registry.k8s.io/kube-proxy:$K8S" --layer "$NET" --layer "$L/kube-proxy" --entrypoint '["/usr/local/bin/kube-proxy"]'

# etcd: binaries in /usr/local/bin, data in /var/lib/etcd (kubeadm's static pod mounts it), no entrypoint upstream
mkdir -p "$L/etcd/usr/local/bin" "$L/etcd/var/lib/etcd" "$L/etcd/var/etcd"
install -m 0755 "$TOOLCHAIN/etcd" "$L/etcd/usr/local/bin/etcd"
install -m 0755 "$ETCDCTL_BIN" "$L/etcd/usr/local/bin/etcdctl"
install -m 0755 "$ETCDUTL_BIN" "$L/etcd/usr/local/bin/etcdutl"
chmod 0700 "$L/etcd/var/lib/etcd"
img "registry.k8s.io/etcd:$ETCD_TAG" --layer "$STATIC" --layer "$L/etcd" --cmd '["/usr/local/bin/etcd"]'

# coredns: /coredns as nonroot, able to bind :53 through a file capability (kubeadm's Deployment drops ALL and adds
# NET_BIND_SERVICE; without the file capability a non-root process never gets it)
mkdir -p "$L/coredns" && install -m 0755 "$COREDNS_BIN" "$L/coredns/coredns"
img "registry.k8s.io/coredns/coredns:$COREDNS" --layer "$STATIC" --layer "$L/coredns" --entrypoint '["/coredns"]' \
  --user 65532:65532 --file-cap coredns=net_bind_service

# pause: static, as the sandbox of every pod; runs as 65535 upstream
mkdir -p "$L/pause"
gcc -Os -static -Wall -Werror -DVERSION="v$PAUSE" -o "$L/pause/pause" "$PAUSE_SRC"
strip "$L/pause/pause"
img "registry.k8s.io/pause:$PAUSE" --layer "$L/pause" --entrypoint '["/pause"]' --user 65535:65535

# busybox: the binary and one link per applet, like the upstream image's /bin
mkdir -p "$L/busybox/bin" "$L/busybox/tmp" "$L/busybox/etc"
chmod 1777 "$L/busybox/tmp"
dpkg-deb --fsys-tarfile "$BUSYBOX_DIR"/deb/*.deb | tar -xO ./bin/busybox >"$L/busybox/bin/busybox"
chmod 0755 "$L/busybox/bin/busybox"
for a in $("$L/busybox/bin/busybox" --list); do [[ "$a" == busybox ]] || ln -s busybox "$L/busybox/bin/$a"; done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/home:/bin/false' >"$L/busybox/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$L/busybox/etc/group"
img "docker.io/library/busybox:$BUSYBOX" --layer "$L/busybox" --cmd '["sh"]'

# local-path-provisioner: upstream's image is alpine + the binary in /usr/bin; the Deployment gives the command
mkdir -p "$L/local-path/usr/bin" && install -m 0755 "$LOCALPATH_BIN" "$L/local-path/usr/bin/local-path-provisioner"
img "docker.io/rancher/local-path-provisioner:$LOCALPATH" --layer "$STATIC" --layer "$L/local-path" \
  --cmd '["local-path-provisioner"]'

rm -rf "$L"
seal "$OUT"
say "built $(ls "$OUT/images" | wc -l) images in $(( SECONDS - T0 ))s: $(du -sh "$OUT/images" | cut -f1)"
echo "$OUT/images"
