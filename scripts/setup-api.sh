#!/usr/bin/env bash
# What the `api` test tier runs besides node: openssl (certificates, s_client handshakes), and for the TLS test on
# a non-loopback address in a network namespace of its own, iproute2 (a veth pair), util-linux (unshare, nsenter)
# and curl. Installs what is missing from Debian's packages; does nothing when all are present.
set -euo pipefail
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-api: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
