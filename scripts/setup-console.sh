#!/usr/bin/env bash
# What the `console` test tier needs besides node: Debian's chromium (driven by playwright-core from npm; no browser
# download), a CJK font so the 中文 screenshots show characters (an operator's desktop has one; a bare server does not),
# and the console built into dist/console. Installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-console: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
npm run build --silent
