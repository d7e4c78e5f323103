#!/usr/bin/env bash
# Calico v3.27.0 for the offline supply, built here from Calico's source tarball (../shared/upstream, `git archive` of
# tag v3.27.0) and the Go module proxy; no registry, no GitHub:
#   scripts/supply/calico.sh     # prints $SUPPLY/calico-v3.27.0 as its LAST stdout line; warm: seconds
# Output ($SUPPLY/calico-v3.27.0, sealed by SHA256SUMS, rebuilt when INPUTS changes):
#   bin/calico-node                  node/cmd/calico-node (felix, startup, init, helpers, probes: one binary)
#   bin/calico, calico-ipam, install cni-plugin/cmd/calico, hard links to one binary that dispatches on argv[0]
#                                    (upstream's cni-plugin Makefile builds it once as `install` and copies it)
#   bin/kube-controllers, check-status
#   bin/cni-plugins/{loopback,host-local,portmap,tuning,bandwidth}  containernetworking/plugins v1.7.1
#   images/docker.io_calico_{node,cni,kube-controllers}_v3.27.0.tar  reproducible docker-archives (mkimage.py)
# Version ldflags are the ones upstream's Makefiles set (node: startup.VERSION and buildinfo.*; cni-plugin and
# kube-controllers: main.VERSION), with the commit and date taken from the tarball's own git-archive header, so
# `calico-node -v`, `calico -v`, `calico-ipam -v`, `kube-controllers --version` print v3.27.0 (checked below).
# CGO_ENABLED=0: felix builds through felix/bpf/libbpf/libbpf_stub.go, so the eBPF dataplane is not available
# (the iptables dataplane is); the cgo helper `mountns` (eBPF cgroup2 mount) is not built, and
# `calico-node -init -best-effort` only logs that it could not mount cgroup2.
#
# What the images hold (read from upstream's Dockerfiles and node/filesystem; written here in our own words):
#   calico/node  Debian 12 net base (base.sh net: bash, iptables legacy+nft, ipset, iproute2, conntrack, kmod) plus
#                /usr/bin/calico-node, /usr/sbin/arp (net-tools; felix runs `arp -s` for workloads whose endpoint
#                records a MAC, i.e. with the etcd datastore), our /usr/bin/calico-node-start, /etc/calico/felix.cfg.
#                CMD ["/usr/bin/calico-node-start"], like upstream's CMD ["start_runit"] (the manifest's containers
#                that give a command run calico-node directly). No BIRD, no confd, no runit: the cluster runs Calico
#                with calico_backend: vxlan (this kernel has no ipip module), which needs no BGP daemon; the start-up
#                script refuses any backend but vxlan and none. No bpftool either (eBPF/XDP only: felix warns once
#                "Can't enable XDP acceleration" and uses iptables).
#   calico/cni   base.sh static plus /opt/cni/bin/{install,calico,calico-ipam} and the standard plugins upstream's
#                image carries (loopback host-local portmap tuning bandwidth; install copies every file there onto the
#                host). flannel is left out: only Canal uses it, and install does not need it.
#                PATH gains /opt/cni/bin, WORKDIR /opt/cni/bin, CMD ["/opt/cni/bin/install"] (as upstream).
#   calico/kube-controllers  base.sh static plus /usr/bin/kube-controllers, /usr/bin/check-status, /status/status.json
#                and /profiles/{cpu,mem}.pprof owned by 999; USER 999, ENTRYPOINT ["/usr/bin/kube-controllers"].
# Standard CNI plugins: v1.7.1 (not Calico's go.mod pin v1.1.1): the version the kubernetes-cni package of
# Kubernetes 1.34 installs into /opt/cni/bin, which install-cni overwrites, so the host does not get older plugins.
# Needs root (layer files owned by uid 999), go >= 1.24, python3, and base.sh's Debian bases.
source "$(dirname "$0")/lib.sh"
SUPPLY_COMPONENT=calico
VERSION=v3.27.0
COMMIT=711528eeb00fd90dde38e87ecee7d1c155cab0e6   # tag v3.27.0; the tarball's git-archive header must say the same
CNI_PLUGINS=v1.7.1
TARBALL=$UPSTREAM/calico-$VERSION.tar.gz
OUT=$SUPPLY/calico-$VERSION
SRC=$SUPPLY/calico-$VERSION-src
CNI_MOD=github.com/containernetworking/plugins
CNI_LIST=(loopback:main host-local:ipam portmap:meta tuning:meta bandwidth:meta)
umask 022

[[ $EUID -eq 0 ]] || die "run as root (image layers hold files owned by uid 999)"
[[ -f "$TARBALL" ]] || die "no $TARBALL (Calico's source tarball, see ../shared/upstream/README.md)"
NET=$(bash "$SUPPLY_SCRIPTS/base.sh" net | tail -n1)
STATIC=$(bash "$SUPPLY_SCRIPTS/base.sh" static | tail -n1)
[[ -d "$NET" && -d "$STATIC" ]] || die "base.sh did not give the Debian bases"
TARBALL_SHA=$(sha256sum "$TARBALL" | cut -d' ' -f1)
INPUTS=$( { cat "$0" "$SUPPLY_SCRIPTS/mkimage.py"; echo "$TARBALL_SHA $CNI_PLUGINS $(go version 2>&1)"
  grep -hv ' SHA256SUMS' "$(dirname "$NET")/SHA256SUMS" "$(dirname "$STATIC")/SHA256SUMS"; } | sha256sum | cut -c1-16)
is_done() { cached "$OUT" && [[ "$(cat "$OUT/INPUTS" 2>/dev/null)" == "$INPUTS" ]]; }
if is_done; then say "cached: $OUT"; echo "$OUT"; exit 0; fi
lock calico
if is_done; then say "cached: $OUT"; echo "$OUT"; exit 0; fi
go_env
T0=$SECONDS

# ---- source: the tarball, extracted once outside the work tree ---------------------------------------------------
read -r TAR_COMMIT BUILD_DATE < <(python3 - "$TARBALL" <<'EOF'
import datetime, sys, tarfile
t = tarfile.open(sys.argv[1])
first = t.next()
print(t.pax_headers.get("comment", "-"),
      datetime.datetime.fromtimestamp(first.mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000"))
EOF
)
[[ "$TAR_COMMIT" == "$COMMIT" ]] || die "$TARBALL is commit $TAR_COMMIT, not v3.27.0 ($COMMIT)"
if [[ "$(cat "$SRC/.airgap-k8s-extracted" 2>/dev/null)" != "$TARBALL_SHA" ]]; then
  say "extracting $(basename "$TARBALL") into $SRC"
  rm -rf "$SRC" && mkdir -p "$SRC"
  tar -xzf "$TARBALL" -C "$SRC" --strip-components=1 --no-same-owner
  echo "$TARBALL_SHA" >"$SRC/.airgap-k8s-extracted"
fi

WORK=$OUT.tmp
rm -rf "$WORK" && mkdir -p "$WORK/bin/cni-plugins" "$WORK/images" "$WORK/layers"
BIN=$WORK/bin

# ---- binaries -------------------------------------------------------------------------------------------------------
t=$SECONDS
NODE_PKG=github.com/projectcalico/calico/node
say "building calico-node, the CNI plugin, kube-controllers, check-status ($VERSION, commit ${COMMIT:0:12}, $BUILD_DATE)"
(cd "$SRC" && go_build -o "$BIN/calico-node" -ldflags "-s -w -X $NODE_PKG/pkg/lifecycle/startup.VERSION=$VERSION \
  -X $NODE_PKG/buildinfo.GitVersion=$VERSION -X $NODE_PKG/buildinfo.BuildDate=$BUILD_DATE \
  -X $NODE_PKG/buildinfo.GitRevision=$COMMIT" ./node/cmd/calico-node) >&2 || die "building calico-node failed"
# three main packages, each with `var VERSION string` in package main (upstream: LDFLAGS = -X main.VERSION=...)
(cd "$SRC" && go_build -o "$BIN/" -ldflags "-s -w -X main.VERSION=$VERSION" \
  ./cni-plugin/cmd/calico ./kube-controllers/cmd/kube-controllers ./kube-controllers/cmd/check-status) >&2 ||
  die "building the CNI plugin / kube-controllers failed"
ln "$BIN/calico" "$BIN/calico-ipam" && ln "$BIN/calico" "$BIN/install"
say "calico binaries: $(( SECONDS - t ))s"

t=$SECONDS
# containernetworking/plugins from a wrapper module that requires only it: its own go.mod picks the dependencies.
CNI_WRAP=$SRC/.airgap-k8s-cni-plugins-$CNI_PLUGINS
if [[ ! -f "$CNI_WRAP/go.mod" ]]; then
  rm -rf "$CNI_WRAP" && mkdir -p "$CNI_WRAP"
  (cd "$CNI_WRAP" && go mod init local/airgap-k8s-cni-plugins >/dev/null 2>&1 && go get "$CNI_MOD@$CNI_PLUGINS" >&2) ||
    { rm -rf "$CNI_WRAP"; die "go get $CNI_MOD@$CNI_PLUGINS failed"; }
fi
pkgs=(); for p in "${CNI_LIST[@]}"; do pkgs+=("$CNI_MOD/plugins/${p#*:}/${p%%:*}"); done
(cd "$CNI_WRAP" && go_build -o "$BIN/cni-plugins/" \
  -ldflags "-s -w -X $CNI_MOD/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS" "${pkgs[@]}") >&2 ||
  die "building the CNI plugins failed"
CNI_LICENSE=$GOMODCACHE/$CNI_MOD@$CNI_PLUGINS/LICENSE
say "CNI plugins $CNI_PLUGINS: $(( SECONDS - t ))s"

# ---- versions they report -------------------------------------------------------------------------------------------
check() { # check WANT CMD...: the first line CMD prints must be WANT
  local got; got=$("${@:2}" 2>&1 | head -n1) || true
  [[ "$got" == "$1" ]] || die "${*:2} printed '$got', want '$1'"
}
check "$VERSION" "$BIN/calico-node" -v
check "$VERSION" "$BIN/calico" -v
check "$VERSION" "$BIN/calico-ipam" -v
check "$VERSION" "$BIN/kube-controllers" --version
check "$VERSION" "$BIN/check-status" -v
for p in "${CNI_LIST[@]}"; do check "CNI ${p%%:*} plugin $CNI_PLUGINS" "$BIN/cni-plugins/${p%%:*}" --version; done
say "versions: calico-node, calico, calico-ipam, kube-controllers, check-status $VERSION; CNI plugins $CNI_PLUGINS"

# ---- image layers (our files; the Debian bases are the first layer) -------------------------------------------------
L=$WORK/layers
licenses() { install -D -m 0644 "$SRC/LICENSE.md" "$1/licenses/calico/LICENSE.md"; }

# calico/node
N=$L/node
install -D -m 0755 "$BIN/calico-node" "$N/usr/bin/calico-node"
licenses "$N"
if [[ ! -e "$NET/usr/sbin/arp" ]]; then
  # felix runs `arp -s` for IPv4 workloads with a MAC; the net base has no net-tools, so add arp alone (the package's
  # /bin and /sbin directories would hide the base's usr-merge symlinks). The .deb is kept, so rebuilds match.
  DEB_DIR=$SRC/.airgap-k8s-debs
  if ! ls "$DEB_DIR"/net-tools_*.deb >/dev/null 2>&1; then
    rm -rf "$DEB_DIR" && mkdir -p "$DEB_DIR"
    (cd "$DEB_DIR" && apt-get download -q -o APT::Sandbox::User=root net-tools >&2 2>&1) ||
      die "apt-get download net-tools failed"
  fi
  deb=$(ls "$DEB_DIR"/net-tools_*.deb | head -n1)
  rm -rf "$WORK/net-tools" && dpkg-deb -x "$deb" "$WORK/net-tools"
  install -D -m 0755 "$WORK/net-tools/usr/sbin/arp" "$N/usr/sbin/arp"
  install -D -m 0644 "$WORK/net-tools/usr/share/doc/net-tools/copyright" "$N/licenses/net-tools/copyright"
  say "arp from $(basename "$deb")"
fi
install -d -m 0755 "$N/etc/calico"
cat >"$N/etc/calico/felix.cfg" <<'EOF'
# Read by felix (calico-node -felix) before the datastore; airgap-k8s calico/node image.
# Logs go to stdout only (no log file, no syslog inside the container); no OpenStack metadata server.
[global]
LogFilePath = none
LogSeverityFile = none
LogSeveritySys = none
MetadataAddr = none
EOF
cat >"$N/usr/bin/calico-node-start" <<'EOF'
#!/bin/bash
# calico-node-start: the main process of the calico/node image built by airgap-k8s (scripts/supply/calico.sh).
# It stands in for upstream's runit tree. This image has no BIRD and no confd: the cluster routes pod traffic over
# VXLAN (calico_backend: vxlan), which needs no BGP daemon, so only CALICO_NETWORKING_BACKEND=vxlan or none is run.
#   1. calico-node -startup: registers the Node (address autodetection, IP pools, cluster info), writes
#      /var/lib/calico/nodename; then one pass of -allocate-tunnel-addrs so felix starts with the VXLAN address.
#   2. helpers, each started again 5 s after it exits:
#        -allocate-tunnel-addrs  keeps this node's VXLAN tunnel address in step with the IP pools
#        -monitor-addresses      keeps the Node's addresses current (VXLAN peers use them; not with backend none)
#        -monitor-token          renews the token in the CNI plugin's kubeconfig before it expires
#                                (skipped when CALICO_MANAGE_CNI=false)
#        -status-reporter        answers CalicoNodeStatus requests
#   3. felix. When felix exits, the helpers are stopped and the container exits with felix's status, so the kubelet
#      restarts the whole node agent. SIGTERM/SIGINT stop felix and the helpers, then the container exits 0.
# Everything logs to stdout/stderr (no per-service log files).
set -u
say() { echo "calico-node-start: $*"; }
trap 'say "stopped during start-up"; exit 0' TERM INT

if [[ -z "${CALICO_NETWORKING_BACKEND:-}" && "${CALICO_NETWORKING:-}" == false ]]; then
  export CALICO_NETWORKING_BACKEND=none   # the older spelling of policy-only mode
fi
backend=${CALICO_NETWORKING_BACKEND:-bird}
case "$backend" in
  vxlan|none) say "networking backend $backend: no BGP daemon" ;;
  *) say "CALICO_NETWORKING_BACKEND=$backend needs BIRD, which this image does not carry;" \
       "set calico_backend to vxlan (VXLAN IP pools) or none"; exit 1 ;;
esac
[[ -z "${CALICO_DISABLE_FELIX:-}" ]] || { say "CALICO_DISABLE_FELIX is not supported by this image"; exit 1; }

calico-node -startup || { say "calico-node -startup failed"; exit 1; }
[[ -s /var/lib/calico/nodename ]] || { say "start-up wrote no /var/lib/calico/nodename"; exit 1; }
NODENAME=$(</var/lib/calico/nodename)
export NODENAME
calico-node -allocate-tunnel-addrs -allocate-tunnel-addrs-run-once ||
  { say "tunnel address allocation failed"; exit 1; }

helpers=()
felix=""
helper() {
  (
    child=""
    trap 'kill -TERM $child 2>/dev/null; wait; exit 0' TERM
    while :; do
      calico-node "$1" &
      child=$!
      wait "$child"
      say "calico-node $1 exited with status $?; starting it again in 5 s"
      sleep 5 &
      child=$!
      wait "$child"
    done
  ) &
  helpers+=("$!")
}
stop() {
  trap '' TERM INT
  say "$1: stopping felix and the helpers"
  kill -TERM ${felix:+"$felix"} "${helpers[@]}" 2>/dev/null
  wait
  exit "$2"
}
trap 'stop "signal received" 0' TERM INT

helper -allocate-tunnel-addrs
[[ "$backend" == none ]] || helper -monitor-addresses
[[ "${CALICO_MANAGE_CNI:-}" == false ]] || helper -monitor-token
helper -status-reporter

(
  # felix reads FELIX_* only: hand it the node name and the datastore settings the container was given.
  export FELIX_FELIXHOSTNAME=$NODENAME
  [[ -z "${DATASTORE_TYPE:-}" ]] || export FELIX_DATASTORETYPE=$DATASTORE_TYPE
  for pair in ETCD_ENDPOINTS:ETCDENDPOINTS ETCD_AUTHORITY:ETCDADDR ETCD_SCHEME:ETCDSCHEME ETCD_CA_CERT_FILE:ETCDCAFILE \
      ETCD_KEY_FILE:ETCDKEYFILE ETCD_CERT_FILE:ETCDCERTFILE; do
    name=${pair%%:*}
    [[ -z "${!name:-}" ]] || export "FELIX_${pair#*:}=${!name}"
  done
  exec calico-node -felix
) &
felix=$!
say "felix (pid $felix) and ${#helpers[@]} helpers started on node $NODENAME"
wait "$felix"
rc=$?
[[ $rc -ne 0 ]] || rc=1
stop "felix exited" "$rc"
EOF
chmod 0755 "$N/usr/bin/calico-node-start"

# calico/cni
C=$L/cni
install -d -m 0755 "$C/opt/cni/bin"
install -m 0755 "$BIN/calico" "$C/opt/cni/bin/calico"
ln "$C/opt/cni/bin/calico" "$C/opt/cni/bin/calico-ipam" && ln "$C/opt/cni/bin/calico" "$C/opt/cni/bin/install"
for p in "${CNI_LIST[@]}"; do install -m 0755 "$BIN/cni-plugins/${p%%:*}" "$C/opt/cni/bin/${p%%:*}"; done
licenses "$C"
install -D -m 0644 "$CNI_LICENSE" "$C/licenses/containernetworking-plugins/LICENSE"

# calico/kube-controllers
K=$L/kube-controllers
install -D -m 0755 "$BIN/kube-controllers" "$K/usr/bin/kube-controllers"
install -m 0755 "$BIN/check-status" "$K/usr/bin/check-status"
install -d -m 0755 "$K/status" "$K/profiles"
install -m 0644 -o 999 -g 0 /dev/null "$K/status/status.json"
install -m 0644 -o 999 -g 0 /dev/null "$K/profiles/cpu.pprof"
install -m 0644 -o 999 -g 0 /dev/null "$K/profiles/mem.pprof"
licenses "$K"

# ---- images ---------------------------------------------------------------------------------------------------------
t=$SECONDS
mkimage() { python3 "$SUPPLY_SCRIPTS/mkimage.py" --out "$WORK/images/docker.io_calico_$1_$VERSION.tar" \
  --ref "docker.io/calico/$1:$VERSION" --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.revision=$COMMIT" "${@:2}" >&2 || die "mkimage calico/$1 failed"; }
mkimage node --layer "$NET" --layer "$N" --cmd '["/usr/bin/calico-node-start"]'
mkimage cni --layer "$STATIC" --layer "$C" --cmd '["/opt/cni/bin/install"]' --workdir /opt/cni/bin \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/cni/bin
mkimage kube-controllers --layer "$STATIC" --layer "$K" --entrypoint '["/usr/bin/kube-controllers"]' --user 999
say "images: $(( SECONDS - t ))s"

rm -rf "$WORK/layers" "$WORK/net-tools"
echo "$INPUTS" >"$WORK/INPUTS"
seal "$WORK"
if ! cached "$WORK"; then
  # lib.sh's seal can list its own SHA256SUMS.tmp (find runs while the redirect creates it): same sums, tmp outside
  (cd "$WORK" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | sort | xargs -r -d '\n' sha256sum --) \
    >"$WORK.sums" && mv "$WORK.sums" "$WORK/SHA256SUMS"
fi
cached "$WORK" || die "$WORK/SHA256SUMS does not verify after sealing"
rm -rf "$OUT" && mv "$WORK" "$OUT"
say "built $OUT in $(( SECONDS - T0 ))s: $(cd "$OUT/images" && du -h ./*.tar | sed 's|\./||' | tr '\t\n' ' ')"
echo "$OUT"
