#!/usr/bin/env bash
# The third-party API fuzzer, schemathesis (PyPI), pinned, in a venv under the cache; prints the venv's bin dir.
# Installs what it needs when missing (python3-venv, iproute2, util-linux). A venv that did not finish
# installing has no stamp and is made again.
set -euo pipefail
VERSION=4.32.5
CACHE="${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/schemathesis"
VENV="$CACHE/venv-$VERSION"
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)          # `ip link set lo up` in the fuzz namespace
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
if [ ! -f "$VENV/.complete" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then need+=(python3 python3-venv); fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >&2 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi
if [ ! -f "$VENV/.complete" ]; then
  mkdir -p "$CACHE"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION" >&2 || { rm -rf "$VENV"; exit 1; }
  touch "$VENV/.complete"
fi
echo "$VENV/bin"
