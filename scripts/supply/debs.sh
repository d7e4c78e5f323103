#!/usr/bin/env bash
# The Debian 12 packages of the offline bundle, for Kubernetes v1.34.3:
#
#   scripts/supply/debs.sh     # as root; prints the directory holding packages/ as its LAST stdout line
#
# writes $SUPPLY/debs-<key>/
#   packages/debian12/kubernetes/     kubeadm, kubelet, kubectl 1.34.3-1.1, cri-tools 1.34.0-1.1, kubernetes-cni
#                                     1.7.1-1.1 (built here with dpkg-deb, named and versioned like pkgs.k8s.io's)
#                                     + the Debian packages they, conntrack and socat need on the test-bed host
#   packages/debian12/containerd/     Debian 12's containerd and runc + what the host lacks for them
#   packages/debian12/load-balancer/  Debian 12's keepalived and haproxy + what the host lacks for them
#   debs.tsv                          group, package, version, origin (built/debian), size, sha256 of every .deb
#   SHA256SUMS                        written last (lib.sh `seal`): no SHA256SUMS, no trust
#
# Where things come from:
#   - kubeadm/kubelet/kubectl: scripts/toolchain/build.sh (built from the Go module proxy; prints its bin dir last).
#   - crictl: the Go module sigs.k8s.io/cri-tools@v1.34.0, ./cmd/crictl, with the version ldflag of its
#     hack/release.sh (-X sigs.k8s.io/cri-tools/pkg/version.Version=v1.34.0: `crictl --version` prints
#     "crictl version v1.34.0", as the release tarball pkgs.k8s.io packages does).
#   - CNI plugins: every plugin build_linux.sh builds (plugins/{meta,main,ipam}/* except main/windows) of the Go
#     module github.com/containernetworking/plugins@v1.7.1, with the ldflag its release script sets
#     (-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v1.7.1).
#     Both modules are built from a copy of their module zip, as their own main module (their go.mod and go.sum).
#   - Debian packages: the closure `apt-get -s -o Dir::State::status=<test-bed image's dpkg status> install ...`
#     computes (exactly what a minimal host lacks; the kubernetes group's closure is computed with our own .debs
#     passed to apt as local files, so their Depends decide it), fetched with `apt-get download NAME=VERSION`; a
#     file another cache already holds (the test bed's bundle, apt's archive cache) is reused when its sha256 is the
#     one the mirror's index gives for that NAME=VERSION.
#   - Unit, drop-in, /etc/default/kubelet and maintainer scripts: written here, from kubernetes.io's documentation
#     ("Configuring each kubelet in your cluster using kubeadm" / "The kubelet drop-in file for systemd") and
#     Debian's conventions (deb-systemd-helper, as debhelper's dh_installsystemd does).
#
# Depends of the packages built here, as pkgs.k8s.io declares them for v1.34.3 (released 2025-12-09): its debs are
# built by `krel obs` from kubernetes/release cmd/krel/templates/latest/<pkg>/<pkg>.spec + metadata.yaml, as the
# repository stood then (after kubernetes/release#4106, merged 2025-09-18; before #4387, 2026-04-27):
#   kubelet        iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0), mount, util-linux
#                  (kubelet.spec: "Requires: iptables >= 1.4.21", debbuild-only "Requires: mount",
#                  "Requires: util-linux"; metadata.yaml kubelet ">= 1.28.0": kubernetes-cni >= 1.2.0. #4106 dropped
#                  conntrack, iproute2 and ethtool; #3722 (2024-08) dropped socat and ebtables. Seen in the wild:
#                  kubernetes/kubernetes#135306 quotes `apt-cache depends kubelet` = iptables, kubernetes-cni, mount,
#                  util-linux, libc6 - libc6 is debbuild's shlibs dependency of a dynamically linked kubelet; ours is
#                  static, so libc6 is added only when a packaged binary turns out to be dynamically linked.)
#   kubeadm        cri-tools (>= 1.30.0)
#                  (metadata.yaml kubeadm: krel takes the FIRST matching entry, and ">= 1.30.0" (cri-tools >= 1.30.0)
#                  came before ">= 1.32.0" (none) until #4387 made it "< 1.32.0"; kubernetes-sigs/cri-tools#2057
#                  shows kubeadm 1.36.0-1.1 still declaring "Depends: cri-tools (>= 1.30.0)". kubelet, kubectl and
#                  kubernetes-cni were dropped by #3481 for >= 1.30.)
#   kubectl, cri-tools, kubernetes-cni    none (their specs declare no Requires).
# conntrack and socat are not Depends of anything upstream any more; they are in the kubernetes group because
# src/bundle/packages.ts lists them (kubeadm's preflight still looks for them on some versions).
#
# Reproducible: SOURCE_DATE_EPOCH (lib.sh) for every mtime and the ar header, root:root, fixed modes, files sorted by
# dpkg-deb, xz with ONE thread (liblzma's multi-threaded encoder writes other bytes than the single-threaded one, so a
# machine with another core count would otherwise build other .debs); Go builds with -trimpath, no VCS stamping,
# from fixed work paths. Measured: a rebuild gives byte-identical .debs.
#
# Cached by a key over the versions below, SOURCE_DATE_EPOCH, the Go version, this script's text and the name of the
# test-bed image's dpkg status (its name carries the image's key). Debian package versions are whatever the mirror
# serves when the key is first built (recorded in debs.tsv); a warm run only verifies SHA256SUMS (seconds).
# Needs: root, scripts/testbed/setup.sh done (the image's dpkg status in $CACHE/testbed), go, apt, dpkg-deb.
# Network: the Go module proxy (two modules, plus whatever the toolchain fetches) and the Debian mirror; nothing else.
# Knobs: AIRGAP_K8S_CACHE, AIRGAP_K8S_NICE, AIRGAP_K8S_BUILD_P (lib.sh); AIRGAP_K8S_TOOLCHAIN_DIR (toolchain).
SUPPLY_COMPONENT=debs
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K8S_VERSION=${AIRGAP_K8S_KUBERNETES_VERSION:-v1.34.3}   # scripts/supply/build.sh sets it from the spec
K8S_VERSION=${K8S_VERSION#v}
CRI_TOOLS_VERSION=1.34.0
CNI_VERSION=1.7.1
PKG_REVISION=1.1            # pkgs.k8s.io's revision: kubeadm_1.34.3-1.1_amd64.deb
ARCH=amd64
OS_DIR=debian12
MAINTAINER='airgap-k8s <airgap-k8s@users.noreply.invalid>'
HOMEPAGE=https://kubernetes.io
CRI_TOOLS_MODULE=sigs.k8s.io/cri-tools
CNI_MODULE=github.com/containernetworking/plugins
CONTAINERD_PACKAGES=(containerd runc)
LOAD_BALANCER_PACKAGES=(keepalived haproxy)
KUBERNETES_EXTRA_PACKAGES=(conntrack socat)   # src/bundle/packages.ts, group kubernetes
BUILT=(kubeadm kubelet kubectl cri-tools kubernetes-cni)

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get download, dpkg-deb --root-owner-group of files owned by root)"
for c in apt-get apt-cache dpkg-deb readelf; do command -v "$c" >/dev/null || die "$c not found"; done
go_env
STATUS=$(ls -t "$CACHE"/testbed/rootfs-*.dpkg-status 2>/dev/null | head -n1 || true)
[ -n "$STATUS" ] || die "no test-bed image dpkg status in $CACHE/testbed: run scripts/testbed/setup.sh first"
SELF="${BASH_SOURCE[0]}"
KEY=$( {
  printf 'k8s=%s cri-tools=%s cni=%s rev=%s arch=%s epoch=%s go=%s\n' "$K8S_VERSION" "$CRI_TOOLS_VERSION" \
    "$CNI_VERSION" "$PKG_REVISION" "$ARCH" "$SOURCE_DATE_EPOCH" "$(go env GOVERSION)"
  basename "$STATUS"
  cat "$SELF"
} | sha256sum | cut -c1-12)
OUT=$SUPPLY/debs-$KEY

if cached "$OUT"; then say "cached: $OUT"; echo "$OUT"; exit 0; fi
lock debs
if cached "$OUT"; then say "cached (built by another run): $OUT"; echo "$OUT"; exit 0; fi

T0=$SECONDS
STAGE=$OUT.tmp
WORK=$SUPPLY/.debs-work       # fixed path: the same build inputs every time
rm -rf "$STAGE" "$WORK"
PKGS=$STAGE/packages/$OS_DIR
mkdir -p "$PKGS"/{kubernetes,containerd,load-balancer} "$WORK"/{src,bin,cni,root}
say "building $OUT (dpkg status $(basename "$STATUS"))"

# --------------------------------------------------------------------------------------------------------------
# Go builds: a writable copy of the module zip, built as its own main module.
module_copy() { # MODULE VERSION NAME -> $WORK/src/NAME
  local dir
  dir=$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1@$2 gave no directory"
  cp -r "$dir" "$WORK/src/$3"
  chmod -R u+w "$WORK/src/$3"
  rm -rf "$WORK/src/$3/vendor"   # a module zip keeps vendor/modules.txt only; build from the module cache
}

build_crictl() {
  module_copy "$CRI_TOOLS_MODULE" "v$CRI_TOOLS_VERSION" cri-tools
  (cd "$WORK/src/cri-tools" &&
    go_build -o "$WORK/bin/crictl" -ldflags "-X $CRI_TOOLS_MODULE/pkg/version.Version=v$CRI_TOOLS_VERSION" ./cmd/crictl)
  local v
  v=$("$WORK/bin/crictl" --version)
  [[ "$v" == *" v$CRI_TOOLS_VERSION" ]] || die "crictl reports '$v'"
  say "  $v"
}

build_cni() {
  module_copy "$CNI_MODULE" "v$CNI_VERSION" plugins
  local d pkgs=()
  for d in "$WORK"/src/plugins/plugins/{meta,main,ipam}/*; do   # what build_linux.sh builds
    [ -d "$d" ] && [ "$(basename "$d")" != windows ] && pkgs+=("./${d#"$WORK/src/plugins/"}")
  done
  (cd "$WORK/src/plugins" &&
    go_build -o "$WORK/cni/" \
      -ldflags "-extldflags -static -X $CNI_MODULE/pkg/utils/buildversion.BuildVersion=v$CNI_VERSION" "${pkgs[@]}")
  [ "$(find "$WORK/cni" -type f | wc -l)" -eq "${#pkgs[@]}" ] || die "expected ${#pkgs[@]} CNI plugins in $WORK/cni"
  local v
  v=$("$WORK/cni/bridge" 2>&1 </dev/null | head -n1 || true)
  [[ "$v" == "CNI bridge plugin v$CNI_VERSION" ]] || die "the bridge plugin reports '$v'"
  say "  ${#pkgs[@]} plugins: $(cd "$WORK/cni" && ls | tr '\n' ' ')($v)"
}

# --------------------------------------------------------------------------------------------------------------
# Debian packages: closure against the test-bed image's dpkg status, then NAME=VERSION files.
apt_lists() {
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then timeout 600 apt-get update -qq; fi
}
# closure ARGS... -> NAME=VERSION lines of the Debian packages apt would install on the image (ours left out)
closure() {
  local sim
  sim=$(apt-get -s -o Dir::State::status="$STATUS" -o APT::Install-Recommends=false install "$@" 2>&1) ||
    { echo "$sim" >&2; die "apt cannot install $* on the test-bed image"; }
  if grep -q '^Remv ' <<<"$sim"; then echo "$sim" >&2; die "installing $* on the image would remove packages"; fi
  # "Inst NAME (VERSION ORIGIN [ARCH])" or, for an upgrade, "Inst NAME [OLD] (VERSION ...)"
  sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' <<<"$sim" |
    grep -vE "^($(IFS='|'; echo "${BUILT[*]}"))=" | sort || true
}
deb_file_name() { # NAME=VERSION ARCH -> apt-get download's file name (":" of an epoch as %3a)
  local n=${1%%=*} v=${1#*=}
  printf '%s_%s_%s.deb' "$n" "${v//:/%3a}" "$2"
}
# fetch DIR NAME=VERSION...: reuse a verified local copy, else apt-get download.
fetch() {
  local dir=$1 nv p v a s f cand missing=() reused=0
  shift
  local -A arch=() sha=()
  while read -r p v a s; do arch[$p=$v]=$a sha[$p=$v]=$s; done < <(apt-cache show "$@" 2>/dev/null |
    awk '/^Package:/ { p = $2 } /^Version:/ { v = $2 } /^Architecture:/ { a = $2 } /^SHA256:/ { s = $2 }
      /^$/ { if (p && s) print p, v, a, s; p = v = a = s = "" } END { if (p && s) print p, v, a, s }')
  for nv in "$@"; do
    [ -n "${sha[$nv]:-}" ] || die "apt knows no $nv (stale lists? run apt-get update)"
    f=$(deb_file_name "$nv" "${arch[$nv]}")
    for cand in "$CACHE/testbed/bundle/debs/$f" "$CACHE"/bundle-test/current/*/"$f" "/var/cache/apt/archives/$f"; do
      if [ -f "$cand" ] && [ "$(sha256sum <"$cand" | cut -d' ' -f1)" = "${sha[$nv]}" ]; then
        cp "$cand" "$dir/$f" && reused=$((reused + 1)) && continue 2
      fi
    done
    missing+=("$nv")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    chown _apt "$dir" 2>/dev/null || true   # apt-get download drops to _apt when it can
    (cd "$dir" && timeout 900 apt-get download -qq "${missing[@]}") || die "apt-get download ${missing[*]} failed"
    chown root:root "$dir"
  fi
  say "  $(basename "$dir"): $# Debian packages ($reused reused from local caches, ${#missing[@]} downloaded)"
}
debian_group() { # GROUP PACKAGES...
  local g=$1 list
  shift
  list=$(closure "$@")
  [ -n "$list" ] || die "apt computed nothing to install for $*"
  say "  $g closure: $(tr '\n' ' ' <<<"$list")"
  # shellcheck disable=SC2086
  fetch "$PKGS/$g" $list
}

# --------------------------------------------------------------------------------------------------------------
# Our packages.
toolchain_bins() {
  local out dir b
  out=$(bash "$REPO_ROOT/scripts/toolchain/build.sh") || die "scripts/toolchain/build.sh failed"
  dir=$(tail -n1 <<<"$out")
  for b in kubeadm kubelet kubectl; do [ -x "$dir/$b" ] || die "no $b in $dir"; done
  [ "$("$dir/kubeadm" version -o short)" = "v$K8S_VERSION" ] || die "$dir/kubeadm is not v$K8S_VERSION"
  [ "$("$dir/kubelet" --version)" = "Kubernetes v$K8S_VERSION" ] || die "$dir/kubelet is not v$K8S_VERSION"
  "$dir/kubectl" version --client -o json | grep -q "\"gitVersion\": *\"v$K8S_VERSION\"" || die "$dir/kubectl is not v$K8S_VERSION"
  cp "$dir/kubeadm" "$dir/kubelet" "$dir/kubectl" "$WORK/bin/"
  say "  kubeadm, kubelet, kubectl v$K8S_VERSION from $dir"
}

# copyright TREE PKG LICENSE_FILE SOURCE: /usr/share/doc/PKG/copyright
copyright() {
  install -d "$1/usr/share/doc/$2"
  { printf 'Package %s, built by airgap-k8s from %s.\nLicense: Apache-2.0 (below).\n\n' "$2" "$4"; cat "$3"; } \
    >"$1/usr/share/doc/$2/copyright"
}
# script TREE NAME: DEBIAN/NAME from stdin, executable
script() { install -d "$1/DEBIAN"; cat >"$1/DEBIAN/$2"; }
# depends_libc TREE DEPENDS: DEPENDS plus libc6 when a packaged ELF file asks for a program interpreter
depends_libc() {
  local f dyn=0
  while IFS= read -r -d '' f; do
    readelf -lW "$f" 2>/dev/null | grep -q 'Requesting program interpreter' && dyn=1
  done < <(find "$1" -path "$1/DEBIAN" -prune -o -type f -perm -u+x -print0)
  if [ $dyn = 1 ]; then echo "${2:+$2, }libc6"; else echo "$2"; fi
}
# mkdeb TREE PACKAGE VERSION SECTION DEPENDS SUMMARY DESCRIPTION-LINES: control, md5sums, modes, mtimes; dpkg-deb
mkdeb() {
  local tree=$1 pkg=$2 ver=$3 section=$4 depends size
  depends=$(depends_libc "$tree" "$5")
  install -d "$tree/DEBIAN"
  # every regular file but the maintainer scripts 0644 unless executable; directories 0755
  find "$tree" -type d -exec chmod 0755 {} +
  find "$tree" -path "$tree/DEBIAN" -prune -o -type f -exec sh -c \
    'for f; do if [ -x "$f" ]; then chmod 0755 "$f"; else chmod 0644 "$f"; fi; done' sh {} +
  (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort |
    grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles 2>/dev/null || true) | xargs -r -d '\n' md5sum) >"$tree/DEBIAN/md5sums"
  # Installed-Size as dpkg-gencontrol computes it: KiB per regular file/symlink, rounded up; 1 per other entry
  size=$(cd "$tree" && find . -path ./DEBIAN -prune -o ! -path . -printf '%y %s\n' |
    awk '{ if ($1 == "f" || $1 == "l") t += int(($2 + 1023) / 1024); else t += 1 } END { print t + 0 }')
  {
    printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: %s\nInstalled-Size: %s\n' \
      "$pkg" "$ver" "$ARCH" "$MAINTAINER" "$size"
    [ -n "$depends" ] && printf 'Depends: %s\n' "$depends"
    printf 'Section: %s\nPriority: optional\nHomepage: %s\nDescription: %s\n' "$section" "$HOMEPAGE" "$6"
    printf '%s\n' "$7" | sed 's/^$/./; s/^/ /'
  } >"$tree/DEBIAN/control"
  for f in postinst prerm postrm; do [ -f "$tree/DEBIAN/$f" ] && chmod 0755 "$tree/DEBIAN/$f"; done
  for f in control md5sums conffiles; do [ -f "$tree/DEBIAN/$f" ] && chmod 0644 "$tree/DEBIAN/$f"; done
  find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  printf '%s\t%s\n' "$tree" "$PKGS/kubernetes/${pkg}_${ver}_${ARCH}.deb" >>"$WORK/trees"
}
# dpkg-deb of every prepared tree, AIRGAP_K8S_BUILD_P at a time (each xz is single-threaded, see the header)
pack_debs() {
  # shellcheck disable=SC2016
  tr '\t' '\n' <"$WORK/trees" | nice -n "${AIRGAP_K8S_NICE:-10}" xargs -d '\n' -n 2 -P "${AIRGAP_K8S_BUILD_P:-2}" \
    sh -c 'dpkg-deb --root-owner-group -Zxz -z6 --threads-max=1 --build "$1" "$2" >/dev/null' sh
  [ "$(ls "$PKGS"/kubernetes/*.deb | wc -l)" -eq "$(wc -l <"$WORK/trees")" ] || die "dpkg-deb did not build every package"
}

build_debs() {
  local r=$WORK/root k8s_src lic
  k8s_src=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  lic=$k8s_src/LICENSE
  [ -f "$lic" ] || die "no LICENSE in $k8s_src"

  # kubectl ----------------------------------------------------------------------------------------------------
  install -D "$WORK/bin/kubectl" "$r/kubectl/usr/bin/kubectl"
  copyright "$r/kubectl" kubectl "$lic" "k8s.io/kubernetes v$K8S_VERSION (cmd/kubectl)"
  mkdeb "$r/kubectl" kubectl "$K8S_VERSION-$PKG_REVISION" admin "" \
    "Command-line utility for interacting with a Kubernetes cluster" \
    "kubectl runs commands against Kubernetes clusters: deploy applications, inspect and manage
cluster resources, view logs.

Built from source (k8s.io/kubernetes v$K8S_VERSION) by airgap-k8s for offline installation."

  # kubelet ----------------------------------------------------------------------------------------------------
  local t=$r/kubelet
  install -D "$WORK/bin/kubelet" "$t/usr/bin/kubelet"
  install -d "$t/lib/systemd/system" "$t/etc/default" "$t/etc/kubernetes/manifests" "$t/var/lib/kubelet"
  cat >"$t/lib/systemd/system/kubelet.service" <<'EOF'
# kubelet.service, from the airgap-k8s kubelet package. Without configuration the kubelet exits and systemd
# starts it again every 10 s; kubeadm (through the kubeadm package's drop-in, kubelet.service.d/10-kubeadm.conf)
# gives it its flags and configuration when `kubeadm init` or `kubeadm join` runs.
[Unit]
Description=kubelet: the Kubernetes node agent
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
RestartSec=10
StartLimitInterval=0

[Install]
WantedBy=multi-user.target
EOF
  cat >"$t/etc/default/kubelet" <<'EOF'
# Extra kubelet command-line flags, read by kubelet.service.d/10-kubeadm.conf (kubeadm package) as
# KUBELET_EXTRA_ARGS. A last resort: prefer nodeRegistration.kubeletExtraArgs in kubeadm's configuration, or the
# KubeletConfiguration. This file is a conffile: an upgrade keeps your edits.
KUBELET_EXTRA_ARGS=
EOF
  install -d "$t/DEBIAN"
  printf '/etc/default/kubelet\n' >"$t/DEBIAN/conffiles"
  script "$t" postinst <<'EOF'
#!/bin/sh
# kubelet postinst (airgap-k8s): enable kubelet.service the Debian way (deb-systemd-helper, as debhelper's
# dh_installsystemd does), and do NOT start it: kubeadm init/join configures and starts it.
set -e
case "$1" in
configure | abort-upgrade | abort-deconfigure | abort-remove)
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		# removes only a mask this package's postrm made on removal
		deb-systemd-helper unmask kubelet.service >/dev/null || true
		# was-enabled is true on a fresh install: enable then; on an upgrade keep the administrator's choice
		if deb-systemd-helper --quiet was-enabled kubelet.service; then
			deb-systemd-helper enable kubelet.service >/dev/null || true
		else
			deb-systemd-helper update-state kubelet.service >/dev/null || true
		fi
	elif command -v systemctl >/dev/null 2>&1; then
		systemctl enable kubelet.service >/dev/null 2>&1 || true
	fi
	if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
	;;
esac
exit 0
EOF
  script "$t" prerm <<'EOF'
#!/bin/sh
# kubelet prerm (airgap-k8s): stop the kubelet when the package is removed (not on upgrade).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	if command -v deb-systemd-invoke >/dev/null 2>&1; then
		deb-systemd-invoke stop kubelet.service >/dev/null || true
	else
		systemctl stop kubelet.service >/dev/null 2>&1 || true
	fi
fi
exit 0
EOF
  script "$t" postrm <<'EOF'
#!/bin/sh
# kubelet postrm (airgap-k8s): forget the unit on removal, and its enablement state on purge.
set -e
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
if command -v deb-systemd-helper >/dev/null 2>&1; then
	case "$1" in
	remove) deb-systemd-helper mask kubelet.service >/dev/null || true ;;
	purge)
		deb-systemd-helper purge kubelet.service >/dev/null || true
		deb-systemd-helper unmask kubelet.service >/dev/null || true
		;;
	esac
fi
exit 0
EOF
  copyright "$t" kubelet "$lic" "k8s.io/kubernetes v$K8S_VERSION (cmd/kubelet)"
  # pkgs.k8s.io kubelet v1.34.3: see the header for where each comes from
  mkdeb "$t" kubelet "$K8S_VERSION-$PKG_REVISION" net \
    "iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0), mount, util-linux" \
    "Node agent for Kubernetes clusters" \
    "The kubelet runs on every node: it starts the pods the API server assigns to the node
through the container runtime (CRI) and reports their status. kubelet.service is
enabled on installation and waits for kubeadm to configure it.

Built from source (k8s.io/kubernetes v$K8S_VERSION) by airgap-k8s for offline installation."

  # kubeadm ----------------------------------------------------------------------------------------------------
  t=$r/kubeadm
  install -D "$WORK/bin/kubeadm" "$t/usr/bin/kubeadm"
  install -d "$t/usr/lib/systemd/system/kubelet.service.d"
  cat >"$t/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'EOF'
# How a kubeadm-managed node runs the kubelet (airgap-k8s kubeadm package). `kubeadm init` and `kubeadm join`
# write /var/lib/kubelet/config.yaml, /var/lib/kubelet/kubeadm-flags.env (KUBELET_KUBEADM_ARGS) and the
# kubeconfigs named here; until then the kubelet exits and systemd restarts it.
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# Generated by kubeadm at init/join time: KUBELET_KUBEADM_ARGS.
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# The administrator's last-resort overrides (KUBELET_EXTRA_ARGS); the kubelet package ships it empty.
EnvironmentFile=-/etc/default/kubelet
# Replace, not add to, kubelet.service's command.
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
EOF
  script "$t" postinst <<'EOF'
#!/bin/sh
# kubeadm postinst (airgap-k8s): let a running systemd see the kubelet drop-in.
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
exit 0
EOF
  script "$t" postrm <<'EOF'
#!/bin/sh
# kubeadm postrm (airgap-k8s): let a running systemd forget the kubelet drop-in.
set -e
case "$1" in
remove | purge) if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi ;;
esac
exit 0
EOF
  copyright "$t" kubeadm "$lic" "k8s.io/kubernetes v$K8S_VERSION (cmd/kubeadm)"
  mkdeb "$t" kubeadm "$K8S_VERSION-$PKG_REVISION" admin "cri-tools (>= 1.30.0)" \
    "Command-line utility for administering a Kubernetes cluster" \
    "kubeadm bootstraps a Kubernetes cluster: init, join, upgrade, reset, certificates and
tokens. The package carries the kubelet drop-in (kubelet.service.d/10-kubeadm.conf)
through which kubeadm configures the kubelet.

Built from source (k8s.io/kubernetes v$K8S_VERSION) by airgap-k8s for offline installation."

  # cri-tools --------------------------------------------------------------------------------------------------
  t=$r/cri-tools
  install -D "$WORK/bin/crictl" "$t/usr/bin/crictl"
  copyright "$t" cri-tools "$WORK/src/cri-tools/LICENSE" "$CRI_TOOLS_MODULE v$CRI_TOOLS_VERSION (cmd/crictl)"
  mkdeb "$t" cri-tools "$CRI_TOOLS_VERSION-$PKG_REVISION" admin "" \
    "Command-line utility for interacting with a container runtime" \
    "crictl inspects and debugs container runtimes and applications on a Kubernetes node
through the Container Runtime Interface (CRI).

Built from source ($CRI_TOOLS_MODULE v$CRI_TOOLS_VERSION) by airgap-k8s for offline installation."

  # kubernetes-cni ---------------------------------------------------------------------------------------------
  t=$r/kubernetes-cni
  install -d "$t/opt/cni/bin" "$t/etc/cni/net.d"
  cp "$WORK"/cni/* "$t/opt/cni/bin/"
  copyright "$t" kubernetes-cni "$WORK/src/plugins/LICENSE" "$CNI_MODULE v$CNI_VERSION (plugins/{main,meta,ipam})"
  mkdeb "$t" kubernetes-cni "$CNI_VERSION-$PKG_REVISION" net "" \
    "Binaries required to provision kubernetes container networking" \
    "The reference CNI plugins (bridge, host-local, loopback, portmap, ...) in /opt/cni/bin,
used by the kubelet's container runtime to set up pod networking.

Built from source ($CNI_MODULE v$CNI_VERSION) by airgap-k8s for offline installation."
  pack_debs
  say "  built: $(cd "$PKGS/kubernetes" && ls | tr '\n' ' ')"
}

kubernetes_debian() {
  # apt resolves our .debs' Depends itself when they are given as local files
  debian_group kubernetes "$PKGS"/kubernetes/*.deb "${KUBERNETES_EXTRA_PACKAGES[@]}"
}

# --------------------------------------------------------------------------------------------------------------
# debs.tsv, and the rule that one package has one version across the groups.
inventory() {
  local g f
  for g in containerd kubernetes load-balancer; do
    for f in "$PKGS/$g"/*.deb; do
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$g" "$(dpkg-deb -f "$f" Package)" "$(dpkg-deb -f "$f" Version)" \
        "$(case " ${BUILT[*]} " in *" $(dpkg-deb -f "$f" Package) "*) echo built ;; *) echo debian ;; esac)" \
        "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)" "$(basename "$f")"
    done
  done >"$STAGE/debs.tsv"
  local conflicts shared
  conflicts=$(awk -F'\t' '!(($2, $3) in seen) { seen[$2, $3] = 1; v[$2] = v[$2] " " $3; n[$2]++ }
    END { for (p in n) if (n[p] > 1) print p ":" v[p] }' "$STAGE/debs.tsv")
  [ -z "$conflicts" ] || die "packages with different versions in two groups: $conflicts"
  shared=$(awk -F'\t' '{ g[$2] = g[$2] ? g[$2] "+" $1 : $1; n[$2]++ } END { for (p in n) if (n[p] > 1) print p "(" g[p] ")" }' \
    "$STAGE/debs.tsv" | sort | tr '\n' ' ')
  say "  in more than one group (same version): ${shared:-none}"
  for g in containerd kubernetes load-balancer; do
    say "  $g: $(ls "$PKGS/$g"/*.deb | wc -l) .debs, $(du -sh --apparent-size "$PKGS/$g" | cut -f1)"
  done
}

apt_lists
timed "crictl (go build)" build_crictl
timed "CNI plugins (go build)" build_cni
timed "containerd group (apt)" debian_group containerd "${CONTAINERD_PACKAGES[@]}"
timed "load-balancer group (apt)" debian_group load-balancer "${LOAD_BALANCER_PACKAGES[@]}"
timed "kubeadm/kubelet/kubectl (toolchain)" toolchain_bins
timed "our .debs (dpkg-deb)" build_debs
timed "kubernetes group (apt)" kubernetes_debian
inventory
seal "$STAGE"
# lib.sh's seal can record its own SHA256SUMS.tmp (its find runs while the redirect creates that file), a line no
# later `cached` can verify (seen here: every warm run rebuilt). Drop that line, then prove the seal.
sed -i '/^[0-9a-f]\{64\}  SHA256SUMS\.tmp$/d' "$STAGE/SHA256SUMS"
cached "$STAGE" || die "$STAGE/SHA256SUMS does not verify"
rm -rf "$OUT" "$WORK"
mv "$STAGE" "$OUT"
echo "$K8S_VERSION" >"$OUT/K8S_VERSION"
# older keys' outputs of the same Kubernetes version (another version's packages stay: an upgrade needs both)
for d in "$SUPPLY"/debs-*; do
  if [ -d "$d" ] && [ "$d" != "$OUT" ] && [ "$(cat "$d/K8S_VERSION" 2>/dev/null)" = "$K8S_VERSION" ]; then rm -rf "$d"; say "removed stale $d"; fi
done
say "done in $(( SECONDS - T0 ))s: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
