// Paths on the hosts that more than one part of airgap-k8s names (the generator that writes a file and the plan
// step that runs or checks it): one place, so they cannot drift apart.

/** where airgap-k8s keeps its kubeadm configs on a host */
export const KUBEADM_DIR = '/etc/kubernetes/airgap-k8s';
export const KUBEADM_INIT_CONFIG = `${KUBEADM_DIR}/kubeadm-init.yaml`;
export const KUBEADM_JOIN_CONFIG = `${KUBEADM_DIR}/kubeadm-join.yaml`;
/** the container-node overlay's resolv.conf for the kubelet */
export const OVERLAY_RESOLV_CONF = `${KUBEADM_DIR}/resolv.conf`;
/** written by kubeadm init: its existence means init finished */
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
/** written by kubeadm join (and init): its existence means the node joined */
export const KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';
export const CA_CERT_PATH = '/etc/kubernetes/pki/ca.crt';
export const CA_KEY_PATH = '/etc/kubernetes/pki/ca.key';
/** held while kubeadm init/join runs on a host (a rerun never starts a second one beside it) */
export const KUBEADM_LOCK = '/run/airgap-k8s-kubeadm.lock';

/** airgap-k8s's scripts on a host */
export const SCRIPTS_DIR = '/usr/local/lib/airgap-k8s';
export const PREPARE_OS_PATH = `${SCRIPTS_DIR}/prepare-os.sh`;
export const FIREWALL_PATH = `${SCRIPTS_DIR}/firewall.sh`;

/** where airgap-k8s puts the systemd units it writes */
export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';
/** scheduled etcd snapshots on the control planes (src/generators/etcd-backup); a reset disables the timer */
export const ETCD_SNAPSHOT_SCRIPT = `${SCRIPTS_DIR}/etcd-snapshot.sh`;
export const ETCD_SNAPSHOT_SERVICE = 'airgap-k8s-etcd-snapshot.service';
export const ETCD_SNAPSHOT_TIMER = 'airgap-k8s-etcd-snapshot.timer';
