// The control-plane static pods as the day-two plans handle them on a host: restarted so they read renewed
// certificates or a restored etcd, and the local API server's readiness. Fixed script texts; values are
// positional parameters.
import { ADMIN_KUBECONFIG } from '../host-paths.js';

/**
 * Restarts the static pods of the components named: each one's pod sandbox stopped and removed, so the kubelet
 * makes the pod anew at once. (Stopping only the container is answered with the kubelet's restart back-off, which
 * grows with every restart: minutes after a restore and a renewal; changing the manifest waits for the kubelet's
 * 20 s file check and the old pod's grace period.) Then waits (up to 3 minutes) until a new container of each runs.
 */
export function restartStaticPod(...components: string[]): string[] {
  return ['sh', '-c', [
    'set -u',
    'olds=" "',
    'for c; do',
    '  old=$(crictl ps --name "^$c\\$" --state running -q | head -n1)',
    '  olds="$olds$old "',
    // a sandbox already gone meanwhile is no error: what counts is a new container running, checked below
    '  for p in $(crictl pods --name "^$c-" --namespace kube-system -q); do crictl stopp "$p" >/dev/null 2>&1; crictl rmp -f "$p" >/dev/null 2>&1; done',
    'done',
    'i=0',
    'for c; do',
    '  while :; do',
    '    new=$(crictl ps --name "^$c\\$" --state running -q | head -n1)',
    '    case "$olds" in *" $new "*) new="" ;; esac',
    '    if [ -n "$new" ]; then echo "$c restarted ($new)"; break; fi',
    '    i=$((i+1)); [ $i -le 180 ] || { echo "$c did not come back within 3 minutes" >&2; exit 1; }',
    '    sleep 1',
    '  done',
    'done',
  ].join('\n'), 'restart-static-pod', ...components];
}

/** Waits (up to 5 minutes) until the API server at https://ADDRESS:PORT answers /readyz, asked with the admin kubeconfig. */
export function waitApiServerReady(address: string, port: number): string[] {
  return ['sh', '-c', [
    'i=0',
    `until kubectl --kubeconfig ${ADMIN_KUBECONFIG} --server "https://$1:$2" get --raw /readyz >/dev/null 2>&1; do`,
    '  i=$((i+1)); [ $i -le 150 ] || { echo "kube-apiserver on $1:$2 not ready after 5 minutes" >&2; exit 1; }',
    '  sleep 2',
    'done',
    'echo "kube-apiserver on $1:$2 ready"',
  ].join('\n'), 'apiserver-ready', address, String(port)];
}
