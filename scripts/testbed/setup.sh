#!/usr/bin/env bash
# Prepares the multi-host test bed on a fresh Debian bookworm machine, as root (CI does exactly that):
#   1. host packages: Debian's docker.io, debootstrap, openssh-client, python3
#   2. the runc wrapper /usr/local/bin/airgap-k8s-runc (drops CAP_SYS_RESOURCE, which this machine's bounding set
#      lacks, so `docker run --privileged` and `docker exec` work), registered as dockerd's default runtime
#   3. dockerd running (started or reloaded as needed)
#   4. the host image airgap-k8s/testbed-host:<key>: a debootstrap base (systemd, sshd; NO keepalived/haproxy)
#      plus customize-image.sh (per-container SSH host keys, container-only units masked, user `airgap` with sudo)
#   5. the offline bundle: keepalived, haproxy and every dependency the image lacks, as .deb files
#   6. a self-check (privileged run + exec through the wrapper) and the manifest test/testbed/testbed.ts reads
# Idempotent: a second run changes nothing and takes seconds. Everything built is cached outside the work tree in
# ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/testbed/, keyed by a hash of what goes into it.
# Network: apt and debootstrap reach the Debian mirror apt is configured with; nothing else is contacted and no
# image is ever pulled.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

SUITE=bookworm
IMAGE_REPO=airgap-k8s/testbed-host
RUNTIME_NAME=airgap-k8s-runc
WRAPPER=/usr/local/bin/airgap-k8s-runc
DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_LOG=/var/log/dockerd.log
CACHE_ROOT=${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}
CACHE=$CACHE_ROOT/testbed
MANIFEST=$CACHE/testbed.json
# What every host-container has. keepalived and haproxy are deliberately absent: they come from the offline bundle.
# sudo: the ssh executor's non-root path (user `airgap`, passwordless sudo) is tested against these hosts.
IMAGE_PACKAGES=(systemd systemd-sysv dbus openssh-server sudo curl ca-certificates openssl iproute2 iputils-ping
  procps psmisc python3)
BUNDLE_PACKAGES=(keepalived haproxy)

log() { printf 'testbed-setup: %s\n' "$*"; }
die() { printf 'testbed-setup: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts dockerd)"

now_ms() { date +%s%3N; }
SCRIPT_START=$(now_ms)
TIMINGS=()
# step NAME FUNCTION: runs FUNCTION, prints and records how long it took.
step() {
  local name=$1 t0 t1
  shift
  t0=$(now_ms)
  log "== $name"
  "$@"
  t1=$(now_ms)
  TIMINGS+=("$(printf '%-34s %8.1f s' "$name" "$(awk "BEGIN{print ($t1-$t0)/1000}")")")
  log "   $name: $(awk "BEGIN{printf \"%.1f\", ($t1-$t0)/1000}") s"
}

mkdir -p "$CACHE"
# One setup at a time on a machine (several engineers and CI jobs may share it).
exec 9>"$CACHE/.setup.lock"
flock -w 1800 9 || die "another setup.sh holds $CACHE/.setup.lock for 30 min"

# ---------------------------------------------------------------------------------------------------------------
host_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v ssh-keygen >/dev/null || need+=(openssh-client)
  [ -x /usr/bin/python3 ] || need+=(python3)   # the wrapper runs under dockerd's environment: system python only
  command -v flock >/dev/null || need+=(util-linux)
  if [ ${#need[@]} -eq 0 ]; then log "   present: dockerd, debootstrap, ssh-keygen, python3"; return; fi
  log "   installing ${need[*]}"
  timeout 600 apt-get update -qq
  # 9>&-: a daemon the package's postinst may start must not inherit (and hold) the setup lock
  timeout 1200 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 9>&-
}

# ---------------------------------------------------------------------------------------------------------------
# The wrapper is written here, not shipped, so the script alone prepares a machine. Rewritten only when it differs.
write_wrapper() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<'PY'
#!/usr/bin/python3
# airgap-k8s-runc: written by airgap-k8s scripts/testbed/setup.sh (do not edit; the script rewrites it).
# This machine's capability bounding set lacks CAP_SYS_RESOURCE, so runc cannot grant it and every privileged
# container (and every `docker exec` into one) fails with "unable to apply caps: operation not permitted".
# dockerd runs this as its default runtime: it removes CAP_SYS_RESOURCE from every capability list of
#   create/run: <bundle>/config.json .process.capabilities   (bundle from --bundle/-b, else the current directory)
#   exec:       the --process/-p FILE .capabilities
# then execs the real runc with the same arguments.
import json
import os
import sys

DROP = "CAP_SYS_RESOURCE"
# runc's global flags that take a value (urfave/cli: flags come before the first positional argument).
GLOBAL_VALUE_FLAGS = {"--root", "--log", "--log-format", "--criu", "--rootless"}
VALUE_FLAGS = {
    "create": {"--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds"},
    "run": {"--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds"},
    "exec": {"--console-socket", "--cwd", "--env", "-e", "--user", "-u", "--additional-gids", "-g", "--process",
             "-p", "--pid-file", "--process-label", "--apparmor", "--cap", "-c", "--preserve-fds", "--cgroup"},
}


def real_runc():
    for path in ("/usr/sbin/runc", "/usr/bin/runc"):
        if os.access(path, os.X_OK):
            return path
    sys.stderr.write("airgap-k8s-runc: no runc in /usr/sbin or /usr/bin\n")
    sys.exit(127)


def split_command(args):
    """-> (subcommand, its flag arguments up to the first positional)"""
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-"):
            break
        i += 2 if (a in GLOBAL_VALUE_FLAGS) else 1
    if i >= len(args):
        return None, []
    sub, rest = args[i], args[i + 1:]
    value_flags = VALUE_FLAGS.get(sub, set())
    flags, j = [], 0
    while j < len(rest) and rest[j].startswith("-") and rest[j] != "--":
        flags.append(rest[j])
        if rest[j] in value_flags and j + 1 < len(rest):
            flags.append(rest[j + 1])
            j += 1
        j += 1
    return sub, flags


def option(flags, *names):
    for k, a in enumerate(flags):
        if a in names and k + 1 < len(flags):
            return flags[k + 1]
        for n in names:
            if a.startswith(n + "="):
                return a[len(n) + 1:]
    return None


def strip_caps(path, pick):
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return
    caps = pick(doc)
    if not isinstance(caps, dict):
        return
    changed = False
    for kind, names in caps.items():
        if isinstance(names, list) and DROP in names:
            caps[kind] = [c for c in names if c != DROP]
            changed = True
    if not changed:
        return
    tmp = path + ".airgap-k8s-runc.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)


def main():
    args = sys.argv[1:]
    try:
        sub, flags = split_command(args)
        if sub in ("create", "run"):
            bundle = option(flags, "--bundle", "-b") or "."
            strip_caps(os.path.join(bundle, "config.json"), lambda d: (d.get("process") or {}).get("capabilities"))
        elif sub == "exec":
            process = option(flags, "--process", "-p")
            if process:
                strip_caps(process, lambda d: d.get("capabilities"))
    except Exception as e:  # never block runc: it reports the real error if the caps are still wrong
        sys.stderr.write("airgap-k8s-runc: could not edit capabilities: %r\n" % (e,))
    runc = real_runc()
    os.execv(runc, [runc] + args)


main()
PY
  if cmp -s "$tmp" "$WRAPPER" 2>/dev/null; then
    log "   $WRAPPER unchanged"
    rm -f "$tmp"
  else
    install -m 0755 "$tmp" "$WRAPPER"
    rm -f "$tmp"
    log "   wrote $WRAPPER"
  fi
}

# Merges {"runtimes":{NAME:{"path":WRAPPER}},"default-runtime":NAME} into daemon.json, keeping every other key.
# Sets DAEMON_JSON_CHANGED=1 when the file changed.
DAEMON_JSON_CHANGED=0
register_runtime() {
  mkdir -p "$(dirname "$DAEMON_JSON")"
  local out
  out=$(/usr/bin/python3 - "$DAEMON_JSON" "$RUNTIME_NAME" "$WRAPPER" <<'PY'
import json, os, sys
path, name, wrapper = sys.argv[1:]
try:
    with open(path) as f:
        text = f.read()
    cur = json.loads(text) if text.strip() else {}
except FileNotFoundError:
    cur = {}
except ValueError as e:
    sys.exit("%s is not valid JSON (%s): fix it by hand, it is not overwritten" % (path, e))
new = json.loads(json.dumps(cur))
runtimes = new.get("runtimes") or {}
runtimes[name] = {"path": wrapper}
new["runtimes"] = runtimes
new["default-runtime"] = name
if new == cur:
    print("unchanged")
else:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(new, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    print("changed")
PY
)
  log "   $DAEMON_JSON $out"
  [ "$out" = changed ] && DAEMON_JSON_CHANGED=1
  return 0
}

# ---------------------------------------------------------------------------------------------------------------
docker_ok() { timeout 10 docker info >/dev/null 2>&1; }
dockerd_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return; fi
  pgrep -x dockerd | head -n1 || true
}
default_runtime() { timeout 10 docker info --format '{{.DefaultRuntime}}' 2>/dev/null || true; }
wait_docker() { # seconds
  local i
  for ((i = 0; i < $1; i++)); do docker_ok && return 0; sleep 1; done
  return 1
}
start_dockerd() {
  log "   starting dockerd (log: $DOCKERD_LOG)"
  # setsid: the daemon outlives this script and its process group (npm, a terminal's Ctrl-C)
  setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  wait_docker 60 || { tail -n 30 "$DOCKERD_LOG" >&2; die "dockerd did not answer \`docker info\` within 60 s"; }
}
stop_dockerd() {
  local pid=$1 i
  log "   stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  die "dockerd (pid $pid) did not exit within 60 s after SIGTERM"
}
ensure_dockerd() {
  local pid
  pid=$(dockerd_pid)
  if [ -z "$pid" ]; then
    start_dockerd
  elif ! docker_ok; then
    wait_docker 60 || die "dockerd (pid $pid) runs but does not answer \`docker info\` (see $DOCKERD_LOG)"
  fi
  if [ "$(default_runtime)" != "$RUNTIME_NAME" ]; then
    # daemon.json changed under a running daemon: runtimes are reloadable with SIGHUP, which keeps containers
    # running; restart only when the reload did not take.
    pid=$(dockerd_pid)
    log "   default runtime is '$(default_runtime)': reloading dockerd (SIGHUP pid $pid)"
    kill -HUP "$pid"
    local i
    for ((i = 0; i < 10; i++)); do [ "$(default_runtime)" = "$RUNTIME_NAME" ] && break; sleep 1; done
    if [ "$(default_runtime)" != "$RUNTIME_NAME" ]; then
      if command -v systemctl >/dev/null && systemctl is-active --quiet docker 2>/dev/null; then
        log "   restarting docker.service"
        timeout 120 systemctl restart docker 9>&-
        wait_docker 60 || die "docker.service did not come back within 60 s"
      else
        stop_dockerd "$pid"
        start_dockerd
      fi
    fi
  fi
  [ "$(default_runtime)" = "$RUNTIME_NAME" ] || die "dockerd's default runtime is '$(default_runtime)', not $RUNTIME_NAME"
  log "   dockerd $(docker info --format '{{.ServerVersion}}') up; default runtime $RUNTIME_NAME"
}

# ---------------------------------------------------------------------------------------------------------------
# The Debian mirror apt uses (deb822 .sources or one-line sources.list), for debootstrap. Override:
# AIRGAP_K8S_DEBIAN_MIRROR=http://...
debian_mirror() {
  if [ -n "${AIRGAP_K8S_DEBIAN_MIRROR:-}" ]; then echo "$AIRGAP_K8S_DEBIAN_MIRROR"; return; fi
  /usr/bin/python3 - "$SUITE" <<'PY'
import glob, re, sys
suite = sys.argv[1]
def candidates():
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", open(path).read()):
            f = {}
            for line in stanza.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    f[m.group(1).lower()] = m.group(2).split()
            if "deb" in f.get("types", []) and f.get("enabled", ["yes"])[0] != "no":
                for uri in f.get("uris", []):
                    yield uri, f.get("suites", []), f.get("components", [])
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            lines = open(path).read().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            parts = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if len(parts) >= 4 and parts[0] == "deb":
                yield parts[1], [parts[2]], parts[3:]
for uri, suites, components in candidates():
    if suite in suites and "main" in components:
        print(uri.rstrip("/"))
        sys.exit(0)
sys.exit("no apt source with suite %s and component main: set AIRGAP_K8S_DEBIAN_MIRROR" % suite)
PY
}

# Two layers, cached separately:
#   base  = debootstrap of IMAGE_PACKAGES: a tarball in the cache, imported as airgap-k8s/testbed-base:<key>
#           (minutes cold; the key hashes suite, variant and package list)
#   image = base + customize-image.sh run in a container, committed as airgap-k8s/testbed-host:<key> (seconds; the
#           key hashes the base key and that script, so editing it rebuilds only this layer)
CUSTOMIZE_SCRIPT=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/customize-image.sh
[ -f "$CUSTOMIZE_SCRIPT" ] || die "missing $CUSTOMIZE_SCRIPT"
BASE_KEY=$( { printf 'suite=%s variant=minbase\n' "$SUITE"; printf '%s\n' "${IMAGE_PACKAGES[@]}"; } | sha256sum | cut -c1-12)
BASE_IMAGE=airgap-k8s/testbed-base:$BASE_KEY
TARBALL=$CACHE/rootfs-$BASE_KEY.tar.gz
DPKG_STATUS=$CACHE/rootfs-$BASE_KEY.dpkg-status
# labels=2: the customize container's label is no longer airgap-k8s.testbed (every container of the image inherited it,
# so rehearsal nodes looked like test-bed containers to label filters)
IMAGE_KEY=$( { printf 'base=%s labels=2\n' "$BASE_KEY"; cat "$CUSTOMIZE_SCRIPT"; } | sha256sum | cut -c1-12)
IMAGE=$IMAGE_REPO:$IMAGE_KEY

debootstrap_rootfs() {
  if [ -s "$TARBALL" ] && [ -s "$DPKG_STATUS" ]; then log "   cached: $TARBALL"; return; fi
  local mirror root include
  mirror=$(debian_mirror)
  root=$CACHE/rootfs-$BASE_KEY.build
  rm -rf "$root"
  include=$(IFS=,; echo "${IMAGE_PACKAGES[*]}")
  log "   debootstrap --variant=minbase --include=$include $SUITE $root $mirror"
  if ! timeout 1800 debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$mirror" \
    >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  # The image is offline: no package lists, no downloaded .debs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
  cp "$root/var/lib/dpkg/status" "$DPKG_STATUS.tmp"
  tar --numeric-owner --xattrs -C "$root" -c . | gzip -1 >"$TARBALL.tmp"
  mv "$DPKG_STATUS.tmp" "$DPKG_STATUS"
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$root"
  log "   $TARBALL ($(du -h "$TARBALL" | cut -f1))"
}

import_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then log "   base $BASE_IMAGE present"; return; fi
  log "   docker import $TARBALL -> $BASE_IMAGE"
  timeout 600 docker import "$TARBALL" "$BASE_IMAGE" >/dev/null
}

customize_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then log "   image $IMAGE present"; return; fi
  local name=airgap-k8s-testbed-customize-$$ out
  docker rm -f "$name" >/dev/null 2>&1 || true
  if ! out=$(timeout 300 docker run -i --name "$name" --network none --label airgap-k8s.setup=customize \
    -e AIRGAP_K8S_TESTBED_CUSTOMIZE=1 "$BASE_IMAGE" /bin/sh -s <"$CUSTOMIZE_SCRIPT" 2>&1); then
    docker rm -f "$name" >/dev/null 2>&1 || true
    die "customizing $BASE_IMAGE failed: $out"
  fi
  # container=docker tells systemd where it runs. (Neither import nor commit takes STOPSIGNAL: createTestbed passes
  # --stop-signal SIGRTMIN+3 itself.)
  docker commit -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' "$name" "$IMAGE" >/dev/null
  docker rm "$name" >/dev/null
  docker tag "$IMAGE" "$IMAGE_REPO:latest"
  log "   $IMAGE committed ($out)"
}

# ---------------------------------------------------------------------------------------------------------------
# The offline bundle: keepalived, haproxy and exactly the packages the image lacks for them. The closure is
# computed with the host's apt against the base's dpkg status (apt-get -s with Dir::State::status; customize-image.sh
# installs nothing), so no container needs network access; each package is then fetched with
# `apt-get download NAME=VERSION`.
BUNDLE=$CACHE/bundle
BUNDLE_DEBS=$BUNDLE/debs
BUNDLE_KEY="base=$BASE_KEY packages=${BUNDLE_PACKAGES[*]}"
build_bundle() {
  if [ -f "$BUNDLE/.key" ] && [ "$(cat "$BUNDLE/.key")" = "$BUNDLE_KEY" ] && ls "$BUNDLE_DEBS"/*.deb >/dev/null 2>&1 &&
    (cd "$BUNDLE_DEBS" && sha256sum --quiet -c SHA256SUMS); then
    log "   cached: $BUNDLE_DEBS ($(ls "$BUNDLE_DEBS"/*.deb | wc -l) .debs)"
    return
  fi
  # fresh lists: stale ones name versions the mirror may no longer serve (only runs when the bundle is rebuilt)
  timeout 600 apt-get update -qq
  local sim pkgs tmp
  sim=$(apt-get -s -o Dir::State::status="$DPKG_STATUS" -o APT::Install-Recommends=false \
    install "${BUNDLE_PACKAGES[@]}")
  if grep -q '^Remv ' <<<"$sim"; then echo "$sim" >&2; die "installing ${BUNDLE_PACKAGES[*]} on the image would remove packages"; fi
  # "Inst NAME (VERSION ...)" or, for an upgrade, "Inst NAME [OLD] (VERSION ...)"
  pkgs=$(sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' <<<"$sim" | sort)
  [ -n "$pkgs" ] || { echo "$sim" >&2; die "apt computed nothing to install for ${BUNDLE_PACKAGES[*]}"; }
  log "   closure against the image: $(tr '\n' ' ' <<<"$pkgs")"
  tmp=$BUNDLE/debs.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chown _apt "$tmp" 2>/dev/null || true   # apt-get download drops to _apt when it can
  # shellcheck disable=SC2086
  (cd "$tmp" && timeout 900 apt-get download -qq $pkgs)
  (cd "$tmp" && sha256sum -- *.deb >SHA256SUMS)
  rm -rf "$BUNDLE_DEBS"
  mv "$tmp" "$BUNDLE_DEBS"
  printf '%s\n' "$BUNDLE_KEY" >"$BUNDLE/.key"
  log "   $BUNDLE_DEBS: $(ls "$BUNDLE_DEBS"/*.deb | wc -l) .debs, $(du -sh "$BUNDLE_DEBS" | cut -f1)"
}

# ---------------------------------------------------------------------------------------------------------------
# Privileged create and exec both go through the wrapper: prove it before any test depends on it.
self_check() {
  local id out
  id=$(docker run -d --rm --privileged --label airgap-k8s.testbed=setup-self-check "$IMAGE" sleep 60)
  out=$(timeout 30 docker exec "$id" sh -c 'grep CapEff /proc/self/status' 2>&1) || {
    docker rm -f "$id" >/dev/null 2>&1 || true
    die "docker exec into a privileged container failed: $out"
  }
  docker rm -f "$id" >/dev/null
  log "   privileged run + exec OK ($out)"
}

write_manifest() {
  local debs
  debs=$(cd "$BUNDLE_DEBS" && ls -- *.deb)
  /usr/bin/python3 - "$MANIFEST" "$IMAGE" "$IMAGE_KEY" "$BUNDLE_DEBS" "$RUNTIME_NAME" \
    "$(docker info --format '{{.ServerVersion}}')" "$debs" <<'PY'
import json, os, sys
path, image, key, bundle, runtime, docker_version, debs = sys.argv[1:]
doc = {
    "image": image,
    "imageKey": key,
    "bundleDir": bundle,
    "bundleDebs": debs.split(),
    "runtime": runtime,
    "dockerServerVersion": docker_version,
}
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(tmp, path)
PY
  log "   $MANIFEST"
}

# Older keys' tarballs and images: removed once the current ones exist. An image still used by a container stays.
prune_old() {
  local f ref n=0
  for f in "$CACHE"/rootfs-*.tar.gz "$CACHE"/rootfs-*.dpkg-status; do
    [ -e "$f" ] || continue
    case $f in "$TARBALL" | "$DPKG_STATUS") continue ;; esac
    rm -f "$f" && n=$((n + 1))
  done
  for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' --filter 'reference=airgap-k8s/testbed-*'); do
    case $ref in "$IMAGE" | "$BASE_IMAGE" | "$IMAGE_REPO:latest") continue ;; esac
    docker image rm "$ref" >/dev/null 2>&1 && n=$((n + 1))
  done
  log "   removed $n stale cache files/images"
}

# Kernel limits a machine running several nodes' kubelets and containerds needs (kind documents the same): each
# node's kubelet, containerd and systemd hold inotify instances from ONE per-user budget of this kernel; at the
# default 128 a fourth node's kubelet failed ("inotify_init: too many open files") and its kubeadm join with it.
inotify_limits() {
  local cur
  cur=$(cat /proc/sys/fs/inotify/max_user_instances)
  if [ "$cur" -lt 8192 ]; then sysctl -q -w fs.inotify.max_user_instances=8192; log "   fs.inotify.max_user_instances $cur -> 8192"; else log "   fs.inotify.max_user_instances $cur"; fi
  cur=$(cat /proc/sys/fs/inotify/max_user_watches)
  if [ "$cur" -lt 524288 ]; then sysctl -q -w fs.inotify.max_user_watches=524288; log "   fs.inotify.max_user_watches $cur -> 524288"; fi
}

step "host packages" host_packages
step "kernel limits" inotify_limits
step "runc wrapper" write_wrapper
step "daemon.json" register_runtime
step "dockerd" ensure_dockerd
step "base: debootstrap + tar" debootstrap_rootfs
step "base: docker import" import_base
step "image: customize + commit" customize_image
step "offline bundle" build_bundle
step "self-check" self_check
step "manifest" write_manifest
step "prune" prune_old

log "done in $(awk "BEGIN{printf \"%.1f\", ($(now_ms)-$SCRIPT_START)/1000}") s"
printf '  %s\n' "${TIMINGS[@]}"
