#!/usr/bin/env bash
# Base root filesystems for the images the supply builds (no registry: debootstrap from Debian's mirror, cached):
#   base.sh net      Debian 12 minbase + iptables (nft and legacy), ipset, iproute2, conntrack, ca-certificates:
#                    the userland kube-proxy and calico/node call (upstream uses distroless-iptables / UBI + iptables)
#   base.sh static   a distroless-style tree for static Go binaries: /etc/passwd and /etc/group (root, nonroot 65532,
#                    nobody 65534), nsswitch.conf, /tmp 1777, the CA bundle (from the net base)
# Prints the rootfs directory as its LAST stdout line. The key hashes this script, so editing it rebuilds.
# A rebuilt debootstrap is not byte-identical (package timestamps, dpkg logs): images stay reproducible because they
# are made from this cached tree; delete $SUPPLY/base-* to refresh it from the mirror.
source "$(dirname "$0")/lib.sh"
SUPPLY_COMPONENT=base
kind=${1:-}
NET_PACKAGES=(iptables ipset iproute2 conntrack ca-certificates netbase kmod)
KEY=$(sha256sum "$0" | cut -c1-12)

mirror() {
  if [[ -n "${AIRGAP_K8S_DEBIAN_MIRROR:-}" ]]; then echo "$AIRGAP_K8S_DEBIAN_MIRROR"; return; fi
  local m
  m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 || true)
  [[ -n "$m" ]] || m=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

build_net() {
  local dir=$SUPPLY/base-net-$KEY
  if cached "$dir"; then echo "$dir/rootfs"; return; fi
  lock "base-net"
  if cached "$dir"; then echo "$dir/rootfs"; return; fi
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >&2
  rm -rf "$dir" && mkdir -p "$dir"
  say "debootstrap --variant=minbase --include=$(IFS=,; echo "${NET_PACKAGES[*]}") bookworm ($(mirror))"
  timeout 1800 debootstrap --variant=minbase --include="$(IFS=,; echo "${NET_PACKAGES[*]}")" bookworm "$dir/rootfs" "$(mirror)" \
    >"$dir/debootstrap.log" 2>&1 || { tail -n 30 "$dir/debootstrap.log" >&2; die "debootstrap failed"; }
  local r=$dir/rootfs
  # an image, not a machine: no apt state, docs, logs, caches, machine identity
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/cache/debconf/*-old "$r"/var/cache/ldconfig/aux-cache \
    "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* "$r"/var/log/* \
    "$r"/etc/machine-id "$r"/etc/hostname "$r"/etc/resolv.conf "$r"/etc/hosts "$r"/dev/* "$r"/proc/* "$r"/sys/* "$r"/run/* "$r"/tmp/*
  find "$r/var/lib/dpkg" -name '*-old' -delete
  mv "$dir/debootstrap.log" "$SUPPLY/base-net-$KEY.debootstrap.log"
  seal "$dir"
  say "net base: $(du -sh "$r" | cut -f1) ($(chroot "$r" dpkg-query -W -f '${Package}=${Version} ' iptables ipset iproute2 conntrack))"
  echo "$r"
}

build_static() {
  local net dir=$SUPPLY/base-static-$KEY
  if cached "$dir"; then echo "$dir/rootfs"; return; fi
  net=$(build_net | tail -n1)
  lock "base-static"
  if cached "$dir"; then echo "$dir/rootfs"; return; fi
  rm -rf "$dir" && mkdir -p "$dir/rootfs"
  local r=$dir/rootfs
  mkdir -p "$r/etc/ssl/certs" "$r/tmp" "$r/home/nonroot" "$r/root" "$r/var/run"
  chmod 1777 "$r/tmp"; chmod 0700 "$r/root"; chown 65532:65532 "$r/home/nonroot"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$r/etc/group"
  printf '%s\n' 'hosts: files dns' >"$r/etc/nsswitch.conf"
  cp "$net/etc/ssl/certs/ca-certificates.crt" "$r/etc/ssl/certs/ca-certificates.crt"
  seal "$dir"
  echo "$r"
}

case "$kind" in
  net) build_net | tail -n1 ;;
  static) build_static | tail -n1 ;;
  *) die "usage: base.sh net|static" ;;
esac
