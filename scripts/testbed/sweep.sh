#!/usr/bin/env bash
# Removes EVERY test-bed container, network and DOCKER-USER rule on this machine (label/comment
# airgap-k8s.testbed), including those of runs still in progress: for CI teardown or by hand when nothing runs.
# Tests need not call it: createTestbed() already removes the leftovers of runs whose process is gone.
set -euo pipefail
label=airgap-k8s.testbed
containers=$(docker ps -aq --filter "label=$label")
[ -z "$containers" ] || docker rm -f -v $containers >/dev/null
networks=$(docker network ls -q --filter "label=$label")
[ -z "$networks" ] || docker network rm $networks >/dev/null
rules=0
while read -r bridge run_id; do
  iptables -w 10 -D DOCKER-USER -i "$bridge" -o "$bridge" -m comment --comment "$label=$run_id" -j ACCEPT
  rules=$((rules + 1))
done < <(iptables -w 10 -S DOCKER-USER 2>/dev/null |
  sed -nE "s/^-A DOCKER-USER -i ([^ ]+) -o \1 -m comment --comment \"?$label=([^\" ]+)\"? -j ACCEPT$/\1 \2/p")
echo "testbed-sweep: removed $(wc -w <<<"$containers") containers, $(wc -w <<<"$networks") networks, $rules iptables rules"
