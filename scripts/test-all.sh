#!/usr/bin/env bash
# `npm test`: every test tier in order, each preceded by the setup it needs on a fresh machine. CI runs this.
# Tiers (each also runnable alone; see README "Tests"):
#   unit      typecheck + pure code, golden files, CLI                    (seconds, no setup)
#   tools     real haproxy/keepalived/containerd read our files        (apt packages)
#   api       the REST service: roles, audit, TLS (openssl, a veth in a netns), the real server killed mid-install
#   console   the install console in Debian's chromium (playwright-core): login, live grid, failed step, cancel/resume,
#             中文/English, 401, no secret in DOM/storage/responses; screenshots in test-results/console/
#   consumer  the package as users get it: npm pack, installed into empty projects (light: no optional dependency;
#             full), examples type-checked and run, what each subpath import loads, the API surface, the API reference
#             (docs/api: TypeDoc, every export documented, current, links resolving) (~3 min warm)
#   fuzz      schemathesis (PyPI venv) against the real server, loopback-only netns, fixed seed, ~2-4 min
#   executors one conformance suite: local processes and a real sshd    (openssh-server, test users)
#   testbed   systemd host containers with sshd, VRRP between them      (docker.io, debootstrap image, .deb bundle)
#   e2e-lb    the HA load balancer applied over SSH, then its failovers (the test bed above)
#   k8s       kubeadm v1.34.3 validates our configs; a real apiserver accepts our manifests and the real charts'
#             helm template output with the real CRDs (../shared/upstream) (toolchain built from
#             the Go module proxy into /var/cache/airgap-k8s: ~20-75 min cold, seconds warm)
#   e2e-api   the REST service installing over SSH to the test bed, killed -9 mid-install, resumed
#   supply    the real offline supply built from upstream source (scripts/supply: .debs and images, cached by
#             version; ~25 min cold after the toolchain, seconds warm): verified, dpkg-installed on a bare host
#             container, imported into its containerd, kubeadm init from our config reaches /readyz
#   e2e-cluster  the rehearsal spec installed for real: 3 control planes + LB, 1 worker, Calico VXLAN, through the
#             kind executor from the supply's bundle onto bare host containers; DNS, cross-node pods, storage, quotas,
#             network policies, VIP failover, a second apply changing nothing; then day two on the same cluster:
#             a worker and a control plane added and removed by editing the spec, etcd snapshot/restore, certs
#             check/renew (killed -9 and resumed), the upgrade
#             v1.34.3 -> v1.34.4 (the supply builds both versions; v1.34.4 cold, measured after v1.34.3: toolchain
#             551 s with the Go cache warm, .debs 170 s, images 11 s) with a Service answering throughout, reset (23-34 min on a quiet machine: 2022 s and 1640 s on 2026-12-04, 1753 s and 1388 s on 2026-12-05)
#   bundle    offline bundle verified, uploaded over SSH (killed + resumed), installed, images imported (test bed, .debs)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
tier() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "=== tier ${name}"
  "$@"
  echo "=== tier ${name}: ok in $(( $(date +%s) - t0 ))s"
}
tier unit npm run test:unit
tier tools npm run test:tools
tier api npm run test:api
tier console npm run test:console
tier consumer npm run test:consumer
tier fuzz npm run test:fuzz
tier executors npm run test:executors
tier testbed npm run test:testbed
tier e2e-lb npm run test:e2e:lb
tier k8s npm run test:k8s
tier supply npm run test:supply
tier e2e-cluster npm run test:e2e:cluster
tier bundle npm run test:bundle
tier e2e-api npm run test:e2e:api
echo "=== all tiers passed in $(( $(date +%s) - start ))s"
