// etcdctl as the day-two plans run it on a control plane: inside the host's running etcd container (crictl exec),
// with the certificates kubeadm made for health checks, so it needs neither the API server nor an etcdctl on the
// host. Fixed script texts; every value is a positional parameter.

const ETCDCTL_PRELUDE = [
  "id=$(crictl ps --name '^etcd$' --state running -q | head -n1)",
  '[ -n "$id" ] || { echo "no running etcd container on this host" >&2; exit 1; }',
  'etcdctl() { crictl exec "$id" etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"; }',
];

/** etcdctl ARGS... on the host's own etcd member. */
export function etcdctl(...args: string[]): string[] {
  return ['sh', '-c', [...ETCDCTL_PRELUDE, 'etcdctl "$@"'].join('\n'), 'etcdctl', ...args];
}

/**
 * Fails unless every etcd member other than $1 answers healthy: removing $1 then keeps a quorum however the
 * removal goes. `member list -w simple`: ID, status, name, peer URLs, client URLs, is learner.
 */
export function etcdOthersHealthy(leaving: string): string[] {
  return ['sh', '-c', [
    ...ETCDCTL_PRELUDE,
    'leaving=$1 bad=0 n=0',
    'list=$(etcdctl member list -w simple) || exit 1',
    'while IFS=, read -r mid st name peers clients learner; do',
    '  name=$(echo $name) clients=$(echo $clients)',
    '  [ "$name" = "$leaving" ] && continue',
    '  n=$((n+1))',
    '  etcdctl --endpoints="${clients%%,*}" endpoint health >/dev/null 2>&1 || { echo "etcd member $name ($clients) is not healthy" >&2; bad=1; }',
    'done <<EOF',
    '$list',
    'EOF',
    '[ $bad = 0 ] || { echo "removing $leaving now could lose the etcd quorum: bring the members above back first" >&2; exit 1; }',
    'echo "$n other etcd members healthy"',
  ].join('\n'), 'etcd-others-healthy', leaving];
}

/** Removes the etcd member named $1 when it is still listed (kubeadm reset on it normally did already). */
export function etcdRemoveMember(name: string): string[] {
  return ['sh', '-c', [
    ...ETCDCTL_PRELUDE,
    'list=$(etcdctl member list -w simple) || exit 1',
    'mid=$(printf "%s\\n" "$list" | awk -F", " -v n="$1" \'$3 == n { print $1 }\')',
    'if [ -z "$mid" ]; then echo "no etcd member $1: nothing to remove"; exit 0; fi',
    'etcdctl member remove "$mid"',
  ].join('\n'), 'etcd-remove-member', name];
}

/** Exits 0 when no etcd member is named $1 (the removal's probe). */
export function etcdMemberAbsent(name: string): string[] {
  return ['sh', '-c', [
    ...ETCDCTL_PRELUDE,
    'list=$(etcdctl member list -w simple) || exit 1',
    '! printf "%s\\n" "$list" | awk -F", " \'{ print $3 }\' | grep -qxF -- "$1"',
  ].join('\n'), 'etcd-member-absent', name];
}
