#!/usr/bin/env bash
# Ansible for `npm run bench` (bench/ansible.ts): ansible-core from PyPI in a virtualenv cached at
# ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/ansible-venv, every package pinned, wheels only (nothing compiled).
# ansible-core 2.19 is the newest whose controller runs on Python 3.11; it manages the test bed's Debian 12 hosts
# (their python3 is 3.11). Idempotent: when the venv holds exactly these pins it only prints its path (well under a
# second). Prints the venv's bin directory as the last line of stdout; progress goes to stderr.
# Python: $AIRGAP_K8S_PYTHON, else python3.11, python3.12, python3.13 or python3 when it is 3.11-3.13.
set -euo pipefail
PINS=(
  ansible-core==2.19.14
  cffi==2.1.1
  cryptography==50.0.2
  Jinja2==3.1.6
  MarkupSafe==3.0.4
  packaging==26.4
  pycparser==3.12
  PyYAML==6.0.4
  resolvelib==1.2.1
)
CACHE=${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}
VENV=$CACHE/ansible-venv
STAMP=$VENV/.airgap-k8s-pins
log() { printf 'setup-ansible: %s\n' "$*" >&2; }

want=$(printf '%s\n' "${PINS[@]}")
if [ -x "$VENV/bin/ansible" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "$VENV/bin"
  exit 0
fi

fits() { "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; }
PY=
for c in ${AIRGAP_K8S_PYTHON:-} python3.11 python3.12 python3.13 python3; do
  if command -v "$c" >/dev/null && fits "$c"; then PY=$(command -v "$c"); break; fi
done
[ -n "$PY" ] || { log "ERROR: no Python 3.11-3.13 (set AIRGAP_K8S_PYTHON)"; exit 1; }

mkdir -p "$CACHE"
# one builder at a time (two bench runs at once); the loser finds the venv made when the lock is free
exec 9>"$CACHE/ansible-venv.lock"
flock 9
if [ -x "$VENV/bin/ansible" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "$VENV/bin"
  exit 0
fi
# A venv cannot be moved (its scripts name their interpreter by path), so it is made in place; the stamp, written
# last, is what says it is complete.
log "creating $VENV with $("$PY" --version) and ${PINS[0]}"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary :all: "${PINS[@]}" >&2
"$VENV/bin/ansible" --version >/dev/null
printf '%s\n' "$want" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
log "$("$VENV/bin/ansible" --version | head -n1)"
echo "$VENV/bin"
