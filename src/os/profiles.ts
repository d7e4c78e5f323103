// One entry per supported host OS, holding every way the hosts differ: packages, haproxy's dialect, the firewall,
// SELinux, cgroups, the GPU driver image, what a dress rehearsal leaves unchecked. Everything else reads this table
// (osProfile(h.os).x) instead of comparing OS names, so a new OS is one entry the compiler walks you through: the
// table is checked against HostOs and OsProfile with `satisfies`, and a missing entry or field does not compile.
// Pure data and lookups into it; the spec's enum of OS values is derived from the keys (src/spec/schema.ts).

/** A host OS the spec knows (`spec.hosts[].os`): its profile says how it differs from the others. */
export type HostOs = 'rhel8' | 'rhel9' | 'debian12';

/** How a host installs packages: rpm (dnf) or dpkg. */
export type PackageManager = 'rpm' | 'dpkg';

/** The bundle's package groups (src/plan/packages.ts): one directory and one install each. */
export type PackageGroup = 'kubernetes' | 'containerd' | 'load-balancer' | 'nvidia-container-toolkit';

/** haproxy's health-check syntax: 1.8 has no `http-check connect/send`; 2.2 introduced them (facts.md). */
export type HaproxyDialect = '1.8' | '2.2+';

export interface OsProfile {
  /** how messages and generated comments name it */
  displayName: string;
  /** /etc/os-release as the preflight accepts it: ID one of `ids`, VERSION_ID `versionMajor` or `versionMajor.*` */
  osRelease: { ids: readonly string[]; versionMajor: string };
  packages: {
    /** package names that differ between distributions */
    names: { conntrack: string; containerd: string };
    /** where a connected machine gets each group; {minor} is the Kubernetes minor version */
    sources: Record<PackageGroup, string>;
  } & (
    | {
        manager: 'rpm';
        /** what downloads rpms with their dependencies on a connected machine of this release (`bundle list`) */
        downloader: 'yumdownloader' | 'dnf download';
      }
    | { manager: 'dpkg' }
  );
  /**
   * The containerd the distribution itself ships, when the containerd group comes from it (the validator warns when
   * the spec names another version); undefined when it comes from elsewhere (Docker's containerd.io).
   */
  distroContainerd: string | undefined;
  /** the haproxy the OS ships (major.minor) and the health-check syntax it reads */
  haproxy: { version: string; dialect: HaproxyDialect };
  /** the keepalived the OS ships (major.minor); keepalived.conf is limited to what the oldest of these reads */
  keepalived: string;
  /** where the OS's iputils puts arping (keepalived's notify scripts call it by path) */
  arping: string;
  /** firewalld: the OS ships it running, so firewall.sh opens each role's ports; none: nothing is installed */
  firewall: 'firewalld' | 'none';
  /** SELinux enforcing by default: prepare-os sets it permissive */
  selinux: boolean;
  /** the cgroup version the OS boots by default */
  cgroup: 'v1' | 'v2';
  /** the release to move to, named when a warning asks for a move (cgroup v1) */
  successor?: HostOs;
  /** the OS part of the GPU Operator's driver image tag (NFD's ID + VERSION_ID) */
  gpuDriverOsTag: string;
  /** what the pinned GPU Operator's support matrix says about this OS, when it is a reason to warn */
  gpuOperatorSupport?: string;
  /** a dress rehearsal runs every host on a Debian 12 node: what this OS becomes there and what that leaves unchecked */
  rehearsal: { as: HostOs; unchecked: readonly string[] };
}

const K8S_RPM = 'Kubernetes repository https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/';
const DOCKER_CE_RPM = 'Docker CE repository (https://download.docker.com/linux/rhel/docker-ce.repo)';
const NVIDIA_RPM = 'NVIDIA repository (https://nvidia.github.io/libnvidia-container/stable/rpm/nvidia-container-toolkit.repo)';
const RHEL_IDS = ['rhel', 'centos', 'rocky', 'almalinux'] as const;

export const OS_PROFILES = {
  rhel8: {
    displayName: 'RHEL 8',
    osRelease: { ids: RHEL_IDS, versionMajor: '8' },
    packages: {
      manager: 'rpm',
      downloader: 'yumdownloader',
      names: { conntrack: 'conntrack-tools', containerd: 'containerd.io' },
      sources: {
        containerd: DOCKER_CE_RPM,
        kubernetes: `${K8S_RPM} plus RHEL 8 BaseOS/AppStream`,
        'load-balancer': 'RHEL 8 AppStream',
        'nvidia-container-toolkit': NVIDIA_RPM,
      },
    },
    distroContainerd: undefined,
    haproxy: { version: '1.8', dialect: '1.8' },
    keepalived: '2.1',
    arping: '/usr/sbin/arping',
    firewall: 'firewalld',
    selinux: true,
    cgroup: 'v1',
    successor: 'rhel9',
    // UNVERIFIED: NVIDIA lists RHEL 8.8 and 8.10 for 25.10, and the runbook's hosts run 8.9.
    gpuDriverOsTag: 'rhel8.9',
    gpuOperatorSupport: 'lists RHEL 8.8 and 8.10 as supported, not 8.9',
    rehearsal: {
      as: 'debian12',
      unchecked: [
        "packages: the node installs the bundle's Debian 12 .deb files with dpkg, not the RHEL 8 rpms with dnf (the bundle must hold packages/debian12)",
        "haproxy: a RHEL 8 host gets the haproxy 1.8 dialect; the node runs Debian's haproxy 2.6, so it is rendered and checked in the 2.2+ dialect and the 1.8 file is not exercised",
        'keepalived 2.2 (Debian) instead of 2.1 (RHEL 8)',
        'firewalld is not present: the firewall step has nothing to open, so the ports the RHEL 8 host needs are not checked',
        'SELinux is absent: setting it permissive is a no-op and no policy is exercised',
        "cgroup v1: the same as RHEL 8 (this machine's kernel runs cgroup v1)",
      ],
    },
  },
  rhel9: {
    displayName: 'RHEL 9',
    osRelease: { ids: RHEL_IDS, versionMajor: '9' },
    packages: {
      manager: 'rpm',
      downloader: 'dnf download',
      names: { conntrack: 'conntrack-tools', containerd: 'containerd.io' },
      sources: {
        containerd: DOCKER_CE_RPM,
        kubernetes: `${K8S_RPM} plus RHEL 9 BaseOS/AppStream`,
        'load-balancer': 'RHEL 9 AppStream',
        'nvidia-container-toolkit': NVIDIA_RPM,
      },
    },
    distroContainerd: undefined,
    haproxy: { version: '2.4', dialect: '2.2+' },
    keepalived: '2.2',
    arping: '/usr/sbin/arping',
    // firewalld on its nftables backend: the same firewall-cmd calls as on RHEL 8.
    firewall: 'firewalld',
    selinux: true,
    cgroup: 'v2',
    // UNVERIFIED: the minor release is a guess (the newest RHEL 9 NVIDIA is known to list); the validator says so.
    gpuDriverOsTag: 'rhel9.6',
    gpuOperatorSupport:
      'could not be confirmed for RHEL 9 here: the newest platform-support page at hand is older (Kubernetes 1.29-1.33) and lists RHEL 9.2, 9.4, 9.5 and 9.6 (driver containers for x86 only); an operator-managed driver is pulled as the rhel9.6 image',
    rehearsal: {
      as: 'debian12',
      unchecked: [
        "packages: the node installs the bundle's Debian 12 .deb files with dpkg, not the RHEL 9 rpms with dnf (the bundle must hold packages/debian12)",
        "haproxy 2.6 (Debian) instead of 2.4 (RHEL 9): the same 2.2+ dialect, but 2.4 itself is not exercised",
        'keepalived 2.2 on both',
        'firewalld is not present: the firewall step has nothing to open, so the ports the RHEL 9 host needs are not checked',
        'SELinux is absent: setting it permissive is a no-op and no policy is exercised',
        "cgroup v1 instead of RHEL 9's cgroup v2 (this machine's kernel runs cgroup v1)",
      ],
    },
  },
  debian12: {
    displayName: 'Debian 12',
    osRelease: { ids: ['debian'], versionMajor: '12' },
    packages: {
      manager: 'dpkg',
      names: { conntrack: 'conntrack', containerd: 'containerd' },
      sources: {
        containerd: 'Debian 12 (bookworm) main',
        kubernetes: 'Kubernetes repository https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ plus Debian 12 main',
        'load-balancer': 'Debian 12 (bookworm) main',
        'nvidia-container-toolkit': 'NVIDIA repository (https://nvidia.github.io/libnvidia-container/stable/deb/)',
      },
    },
    // 1.6.20~ds1 (with runc 1.1.5). A debian12 host installs the bundle's packages/debian12/containerd, so another
    // version there means a package from elsewhere (a backport or a build of the site's own); the spec's version is
    // what `bundle verify` and the install's package probe hold it to.
    distroContainerd: '1.6.20',
    haproxy: { version: '2.6', dialect: '2.2+' },
    keepalived: '2.2',
    arping: '/usr/bin/arping',
    // no firewall installed by default (src/generators/os/firewall.ts)
    firewall: 'none',
    selinux: false,
    cgroup: 'v2',
    gpuDriverOsTag: 'debian12',
    rehearsal: { as: 'debian12', unchecked: [] },
  },
} as const satisfies Record<HostOs, OsProfile>;

/** Every host OS, in the table's order (the spec's enum and JSON Schema list them so). */
export const HOST_OSES = Object.keys(OS_PROFILES) as [HostOs, ...HostOs[]];

export function osProfile(os: HostOs): OsProfile {
  return OS_PROFILES[os];
}

export interface PackageManagerProfile {
  extension: '.rpm' | '.deb';
  /** sh script installing every package file of the directory "$1" from the bundle, with no repository */
  install: string;
  /** sh script printing the installed version of the package "$1", failing when it is absent */
  probe: string;
  /** sh script removing (purging) the packages named "$@"; one that is not installed is no error */
  remove: string;
  /** sh script installing the one package named "$2" from the bundle directory "$1" (kubeadm first, in an upgrade) */
  installOne: string;
}

/** What each package manager's files are called and how a host installs and probes them. */
export const PACKAGE_MANAGERS: Record<PackageManager, PackageManagerProfile> = {
  rpm: {
    extension: '.rpm',
    install: 'cd "$1" && dnf --disablerepo="*" --nogpgcheck -y localinstall ./*.rpm',
    probe: 'rpm -q --qf "%{VERSION}\\n" "$1"',
    remove: 'dnf --disablerepo="*" -y remove "$@"',
    installOne: 'cd "$1" && dnf --disablerepo="*" --nogpgcheck -y localinstall ./"$2"-[0-9]*.rpm',
  },
  dpkg: {
    extension: '.deb',
    install: 'cd "$1" && DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold ./*.deb',
    remove: 'DEBIAN_FRONTEND=noninteractive dpkg --purge "$@"',
    installOne: 'cd "$1" && DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold ./"$2"_*.deb',
    probe: 'dpkg-query -W -f "\\${Status} \\${Version}\\n" "$1" | awk \'$3=="installed"{print $4; f=1} END{exit !f}\'',
  },
};

/**
 * The preflight's `case "$want:$ID:${VERSION_ID:-}"` patterns: every accepted ID with the major version alone
 * (CentOS 8 says "8") or followed by a minor (Rocky "9.4"). Patterns are globs, so "8.*" never matches "80".
 */
export function osReleaseCasePatterns(): string {
  return HOST_OSES.flatMap((os) => {
    const { ids, versionMajor: v } = OS_PROFILES[os].osRelease;
    return ids.flatMap((id) => [`${os}:${id}:${v}`, `${os}:${id}:${v}.*`]);
  }).join('|');
}
