// Every message of the console in English and 中文, the language picked from the browser's preference list (what it
// sends as Accept-Language), and titles for the validator's warning codes: the validator's own messages stay English
// (issue 15), but each warning carries a stable `code`, so the console shows a translated title above it.
export const LANGS = ['en', 'zh'] as const;
export type Lang = (typeof LANGS)[number];

const en = {
  title: 'airgap-k8s console',
  'nav.installs': 'Installs',
  'nav.new': 'Validate / dry run',
  'nav.logout': 'Log out',
  'nav.lang': '中文',
  'nav.main': 'Main',
  'login.heading': 'Log in',
  'login.token': 'API token',
  'login.help': 'Paste the bearer token (data/token, or one made with `airgap-k8s token create`). It is kept in this tab only (sessionStorage) and sent only in the Authorization header.',
  'login.submit': 'Log in',
  'login.refused': 'The service refused this token (401). Paste a valid one.',
  'login.expired': 'The service answered 401: the token is no longer accepted. Log in again.',
  'login.empty': 'Paste a token first.',
  'list.heading': 'Installs',
  'list.filter': 'Status',
  'list.all': 'all',
  'list.name': 'Cluster',
  'list.status': 'Status',
  'list.started': 'Started',
  'list.finished': 'Finished',
  'list.executor': 'Executor',
  'list.by': 'Started by',
  'list.id': 'Id',
  'list.empty': 'No installs.',
  'list.count': 'Installs: {n}, newest first',
  'status.pending': 'pending',
  'status.running': 'running',
  'status.succeeded': 'succeeded',
  'status.failed': 'failed',
  'status.cancelled': 'cancelled',
  'state.pending': 'pending',
  'state.running': 'running',
  'state.probe': 'skipped by probe',
  'state.skipped': 'skipped',
  'state.changed': 'changed',
  'state.ok': 'done, unchanged',
  'state.failed': 'failed',
  'state.interrupted': 'interrupted',
  'reason.probe': 'already in place on the host (probe)',
  'reason.journal': 'done in an earlier run (journal)',
  'reason.no-change': 'nothing to change',
  'reason.no-bundle': 'needs the offline bundle, which a dry run goes without',
  'install.back': '← Installs',
  'install.executor': 'Executor',
  'install.by': 'Started by',
  'install.started': 'Started',
  'install.finished': 'Finished',
  'install.runs': 'Runs',
  'install.progress': 'Progress',
  'install.stepsOf': '{done} of {total} steps finished',
  'install.failedN': '{n} failed',
  'install.interruptedN': '{n} interrupted (run again on resume)',
  'install.remaining': 'about {t} left (estimated from {n} finished steps: median time per kind of step)',
  'install.remainingUnknown': 'no estimate yet (fewer than 3 finished steps)',
  'install.elapsed': 'took {t}',
  'install.live': 'live: {n} events (last #{seq})',
  'install.reconnecting': 'connection lost; reconnecting from event #{seq}…',
  'install.complete': 'complete: {n} events (last #{seq})',
  'install.cancel': 'Cancel install',
  'install.resume': 'Resume',
  'install.delete': 'Delete record',
  'install.download': 'Download rendered files',
  'install.secrets': 'include secret files (admin; needs the secrets token)',
  'install.secretsToken': 'Secrets token',
  'install.deleteConfirm': 'Delete the record of install {name} ({id})? Its events and journal go; the hosts and the cluster\'s secrets file stay.',
  'install.confirm': 'Delete',
  'install.keep': 'Keep',
  'install.grid': 'Plan: phases × hosts',
  'install.phase': 'Phase',
  'install.time': 'Time',
  'install.cluster': 'cluster',
  'install.cell': '{phase} on {host}: {summary}',
  'install.selectCell': 'Choose a cell of the grid to see its steps.',
  'install.stepsIn': 'Steps of {phase} on {host}',
  'install.error': 'Why it stopped',
  'install.warnings': 'Warnings from validation',
  'install.planPending': 'The plan is being made…',
  'step.heading': 'Step',
  'step.host': 'Host',
  'step.phase': 'Phase',
  'step.kind': 'Kind',
  'step.state': 'State',
  'step.attempts': 'Attempts',
  'step.duration': 'Duration',
  'step.probe': 'Probe',
  'step.probeNone': 'this step has no probe: it runs on every install',
  'step.probeSkipped': 'already in place on the host: skipped',
  'step.probeChanged': 'not in place: the step ran and changed the host',
  'step.probeUnchanged': 'the step ran; nothing changed',
  'step.probeWaiting': 'not checked yet',
  'step.cause': 'Cause',
  'step.exit': 'exit code {code} on {host}',
  'step.command': 'To reproduce by hand, run on {host} as root:',
  'step.output': 'Output (redacted)',
  'step.noOutput': 'no output',
  'step.close': 'Back to the cell',
  'step.interrupted': 'The install was cancelled (or the service stopped) while this step ran. It did not fail on its own: a resume runs it again.',
  'new.heading': 'Validate a spec, start a dry run',
  'new.spec': 'Cluster spec (YAML or JSON)',
  'new.file': 'or load a file',
  'new.validate': 'Validate',
  'new.dryRun': 'Start dry run',
  'new.valid': 'Valid: cluster {name}, {hosts} hosts.',
  'new.invalid': 'Not valid: {n} problems.',
  'new.noWarnings': 'No warnings.',
  'new.warnings': '{n} warnings: read them before you start',
  'new.started': 'Dry run started.',
  'err.forbidden': 'Your token\'s role does not allow this (403): {msg}',
  'err.generic': 'The service answered {status}: {msg}',
  'err.network': 'The service cannot be reached: {msg}',
  'time.none': '—',
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  title: 'airgap-k8s 控制台',
  'nav.installs': '安装任务',
  'nav.new': '校验 / 试运行',
  'nav.logout': '退出登录',
  'nav.lang': 'English',
  'nav.main': '主菜单',
  'login.heading': '登录',
  'login.token': 'API 令牌',
  'login.help': '粘贴 Bearer 令牌（data/token，或用 `airgap-k8s token create` 生成的令牌）。令牌只保存在当前标签页（sessionStorage），只在 Authorization 头中发送。',
  'login.submit': '登录',
  'login.refused': '服务拒绝了该令牌（401），请粘贴有效的令牌。',
  'login.expired': '服务返回 401：令牌已不再被接受，请重新登录。',
  'login.empty': '请先粘贴令牌。',
  'list.heading': '安装任务',
  'list.filter': '状态',
  'list.all': '全部',
  'list.name': '集群',
  'list.status': '状态',
  'list.started': '开始时间',
  'list.finished': '结束时间',
  'list.executor': '执行器',
  'list.by': '发起者',
  'list.id': '编号',
  'list.empty': '没有安装任务。',
  'list.count': '共 {n} 个安装任务，最新的在前',
  'status.pending': '等待中',
  'status.running': '运行中',
  'status.succeeded': '成功',
  'status.failed': '失败',
  'status.cancelled': '已取消',
  'state.pending': '待执行',
  'state.running': '执行中',
  'state.probe': '探测后跳过',
  'state.skipped': '已跳过',
  'state.changed': '已变更',
  'state.ok': '完成，无变更',
  'state.failed': '失败',
  'state.interrupted': '已中断',
  'reason.probe': '主机上已就绪（探测）',
  'reason.journal': '在之前的运行中已完成（日志）',
  'reason.no-change': '无需变更',
  'reason.no-bundle': '需要离线包，试运行不使用离线包',
  'install.back': '← 安装任务',
  'install.executor': '执行器',
  'install.by': '发起者',
  'install.started': '开始时间',
  'install.finished': '结束时间',
  'install.runs': '运行次数',
  'install.progress': '进度',
  'install.stepsOf': '已完成 {done} / {total} 个步骤',
  'install.failedN': '{n} 个失败',
  'install.interruptedN': '{n} 个已中断（继续安装时重新执行）',
  'install.remaining': '预计还需约 {t}（根据 {n} 个已完成步骤估算：每类步骤耗时的中位数）',
  'install.remainingUnknown': '暂无估算（已完成的步骤少于 3 个）',
  'install.elapsed': '耗时 {t}',
  'install.live': '实时：{n} 个事件（最新 #{seq}）',
  'install.reconnecting': '连接中断，正在从事件 #{seq} 处重新连接…',
  'install.complete': '已结束：{n} 个事件（最新 #{seq}）',
  'install.cancel': '取消安装',
  'install.resume': '继续安装',
  'install.delete': '删除记录',
  'install.download': '下载生成的文件',
  'install.secrets': '包含密钥文件（需要 admin 角色和密钥令牌）',
  'install.secretsToken': '密钥令牌',
  'install.deleteConfirm': '删除安装任务 {name}（{id}）的记录？其事件和日志将被删除，主机和集群的密钥文件保持不变。',
  'install.confirm': '删除',
  'install.keep': '保留',
  'install.grid': '安装计划：阶段 × 主机',
  'install.phase': '阶段',
  'install.time': '耗时',
  'install.cluster': '集群',
  'install.cell': '{phase} 在 {host} 上：{summary}',
  'install.selectCell': '选择表格中的一个单元格以查看其步骤。',
  'install.stepsIn': '{phase} 在 {host} 上的步骤',
  'install.error': '停止原因',
  'install.warnings': '校验警告',
  'install.planPending': '正在生成安装计划…',
  'step.heading': '步骤',
  'step.host': '主机',
  'step.phase': '阶段',
  'step.kind': '类型',
  'step.state': '状态',
  'step.attempts': '尝试次数',
  'step.duration': '耗时',
  'step.probe': '探测',
  'step.probeNone': '该步骤没有探测：每次安装都会执行',
  'step.probeSkipped': '主机上已就绪：已跳过',
  'step.probeChanged': '未就绪：步骤已执行并变更了主机',
  'step.probeUnchanged': '步骤已执行，没有变更',
  'step.probeWaiting': '尚未探测',
  'step.cause': '原因',
  'step.exit': '在 {host} 上退出码为 {code}',
  'step.command': '手动复现：在 {host} 上以 root 身份执行：',
  'step.output': '输出（已脱敏）',
  'step.noOutput': '无输出',
  'step.close': '返回单元格',
  'step.interrupted': '该步骤执行期间安装被取消（或服务停止）。它本身没有失败：继续安装时会重新执行。',
  'new.heading': '校验规格，启动试运行',
  'new.spec': '集群规格（YAML 或 JSON）',
  'new.file': '或加载文件',
  'new.validate': '校验',
  'new.dryRun': '启动试运行',
  'new.valid': '有效：集群 {name}，{hosts} 台主机。',
  'new.invalid': '无效：共 {n} 个问题。',
  'new.noWarnings': '没有警告。',
  'new.warnings': '{n} 条警告：启动前请阅读',
  'new.started': '试运行已启动。',
  'err.forbidden': '当前令牌的角色不允许此操作（403）：{msg}',
  'err.generic': '服务返回 {status}：{msg}',
  'err.network': '无法连接服务：{msg}',
  'time.none': '—',
};

export const MESSAGES: Record<Lang, Record<MessageKey, string>> = { en, zh };

/** A message with its {placeholders} filled in. */
export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return MESSAGES[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/**
 * The first language of the preference list the console has (`zh-CN`, `zh-TW`, `zh` -> zh; `en-*` -> en), from
 * navigator.languages or an Accept-Language header (q-values honoured); English when none matches.
 */
export function pickLang(prefs: string | readonly string[]): Lang {
  const list =
    typeof prefs === 'string'
      ? prefs
          .split(',')
          .map((part, i) => {
            const [tag = '', ...params] = part.trim().split(';');
            const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
            return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), i };
          })
          .filter((x) => x.tag && x.q > 0)
          .sort((a, b) => b.q - a.q || a.i - b.i)
          .map((x) => x.tag)
      : prefs;
  for (const tag of list) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'zh') return 'zh';
    if (primary === 'en') return 'en';
  }
  return 'en';
}

/** The `lang` attribute of the page for a console language. */
export const htmlLang = (lang: Lang): string => (lang === 'zh' ? 'zh-CN' : 'en');

/**
 * Titles of the validator's warnings by code (src/spec/validate.ts, src/spec/load.ts), shown above its English
 * message. A unit test checks that every code the validator can emit has one.
 */
export const WARNING_TITLES: Record<string, Record<Lang, string>> = {
  containerd_eol: { en: 'containerd is past its end of life', zh: 'containerd 版本已停止维护' },
  containerd_matrix: { en: 'containerd is outside the Kubernetes support matrix', zh: 'containerd 版本不在 Kubernetes 支持矩阵内' },
  debian_containerd: { en: 'containerd version differs from Debian 12\'s package', zh: 'containerd 版本与 Debian 12 软件包不同' },
  cgroup_v1: { en: 'cgroup v1 (RHEL 8): Kubernetes 1.35 refuses it by default', zh: 'cgroup v1（RHEL 8）：Kubernetes 1.35 起默认拒绝' },
  unproven: { en: 'Kubernetes version planned but not yet proven in CI', zh: '该 Kubernetes 版本可规划，但尚未在 CI 中实际验证' },
  gpu_os: { en: 'OS not in the GPU Operator support matrix', zh: '操作系统不在 GPU Operator 支持矩阵内' },
  gpu_overcommit: { en: 'models ask for more GPUs than the hosts have', zh: '模型申请的 GPU 多于主机拥有的数量' },
  gpu_on_control_plane: { en: 'a GPU host is also a control plane', zh: 'GPU 主机同时是控制平面节点' },
  no_gpu_hosts: { en: 'GPU software enabled but no GPU host', zh: '启用了 GPU 组件，但没有 GPU 主机' },
  no_device_plugin: { en: 'a model asks for GPUs but nothing advertises them', zh: '模型申请 GPU，但没有组件提供 GPU 资源' },
  tensor_parallel: { en: 'tensor parallelism over an unusual GPU count', zh: '张量并行的 GPU 数量不常见' },
  no_offline_model: { en: 'the model cannot be loaded offline', zh: '模型无法离线加载' },
  archived: { en: 'an archived project', zh: '项目已归档' },
  untested: { en: 'a version not tested with Kubernetes 1.34', zh: '版本未与 Kubernetes 1.34 一起测试' },
  loopback: { en: 'a loopback address', zh: '回环地址' },
  even_control_planes: { en: 'an even number of control planes', zh: '控制平面节点数量为偶数' },
  assumed_interface: { en: 'network interface assumed', zh: '网卡名称为推断值' },
  outside_host_subnet: { en: 'address outside the host subnet', zh: '地址不在主机子网内' },
  checks_skipped: { en: 'some checks did not run', zh: '部分检查未执行' },
};

export function warningTitle(lang: Lang, code: string): string | undefined {
  return WARNING_TITLES[code]?.[lang];
}
