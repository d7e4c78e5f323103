// One install: its header and actions, the validation warnings, progress with the remaining-time estimate, the
// plan as a phases x hosts grid that follows the event stream live, and beside it the steps of the chosen cell or
// one step's detail.
import { call, followEvents, getJson, type StreamState } from './api.js';
import { errorText, type Ctx } from './context.js';
import { h, replace, time } from './dom.js';
import { badge } from './list.js';
import { CLUSTER, formatDuration, InstallModel, isTerminal, SHOWN_STATES, shownState, splitError, type ClusterDetail, type PlanDoc, type ShownState, type StepModel } from './model.js';
import { stepView } from './step.js';
import { issueList } from './warnings.js';
import { warningTitle } from './i18n.js';

const SYMBOL: Record<ShownState, string> = { failed: '✗', running: '▶', interrupted: '‖', pending: '○', changed: '✓', probe: '↷', skipped: '–', ok: '✓' };

export function installView(ctx: Ctx, id: string, signal: AbortSignal): HTMLElement {
  const head = h('div', { class: 'install-head' });
  const files = h('div', { class: 'files' });
  const notice = h('p', { class: 'hidden', role: 'alert', id: 'notice' });
  const warnings = h('div');
  const progress = h('div', { class: 'progress', 'aria-live': 'polite' });
  const stream = h('p', { class: 'stream muted', id: 'stream', 'aria-live': 'polite' });
  const failure = h('div');
  const grid = h('div', { class: 'grid-wrap' });
  const aside = h('aside', { class: 'detail', 'aria-label': ctx.t('step.heading') }, h('p', { class: 'muted' }, ctx.t('install.selectCell')));
  const root = h(
    'section',
    { class: 'install', id: 'install' },
    h('a', { href: '#/clusters', class: 'back' }, ctx.t('install.back')),
    h('div', { class: 'head-row' }, head, files),
    notice,
    failure,
    warnings,
    progress,
    stream,
    h('div', { class: 'columns' }, grid, aside),
  );

  let model: InstallModel | undefined;
  let plan: PlanDoc | undefined;
  let streamState: StreamState = 'live';
  let following = false;
  let cell: { phase: string; host: string } | null = null;
  let stepId: string | null = null;
  let frame = 0;
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => ((frame = 0), render()));
  };
  const say = (text: string | null) => {
    notice.textContent = text ?? '';
    notice.className = text ? 'error' : 'hidden';
  };

  const follow = () => {
    if (following || !model || signal.aborted) return;
    following = true;
    const m = model;
    void followEvents(id, () => m.lastSeq, { event: (e) => m.apply(e) && schedule(), state: (s) => ((streamState = s), schedule()) }, signal).finally(() => {
      following = false;
      // a resume can start the install again after its stream ended: follow it once more
      if (!isTerminal(m.status) && !signal.aborted) setTimeout(follow, 500);
    });
  };

  const load = async () => {
    try {
      // the install and its plan side by side: one round trip before the grid is drawn, not two
      const planOf = () => getJson<PlanDoc>(`/clusters/${encodeURIComponent(id)}/plan`, { signal }).catch(() => undefined);
      let planned = planOf();
      let d = await getJson<ClusterDetail>(`/clusters/${encodeURIComponent(id)}`, { signal });
      if (d.steps.length === 0 && !isTerminal(d.status)) {
        while (d.steps.length === 0 && !isTerminal(d.status) && !signal.aborted) {
          replace(progress, h('p', { class: 'muted' }, ctx.t('install.planPending')));
          renderHead(d);
          await new Promise((r) => setTimeout(r, 500));
          d = await getJson<ClusterDetail>(`/clusters/${encodeURIComponent(id)}`, { signal });
        }
        planned = planOf();
      }
      plan = await planned;
      model = new InstallModel(d, plan);
      renderFiles();
      // the operator decided on these before starting (the validate page shows them in full): one line here, opened on demand
      replace(
        warnings,
        d.warnings.length
          ? h('details', { class: 'card warnings compact', id: 'install-warnings' }, h('summary', {}, `${ctx.t('install.warnings')} (${d.warnings.length}): `, h('span', { class: 'titles' }, d.warnings.map((w) => warningTitle(ctx.lang, w.code) ?? w.code).join(' · '))), issueList(ctx, d.warnings, 'warning'))
          : null,
      );
      render();
      follow();
    } catch (e) {
      if (!signal.aborted) say(errorText(ctx, e));
    }
  };

  const act = async (path: string, method: string, after?: () => void) => {
    say(null);
    try {
      await call(path, { method, signal });
      after?.();
      follow();
    } catch (e) {
      say(errorText(ctx, e));
    }
  };

  const download = async (withSecrets: boolean, secretsToken: string) => {
    say(null);
    try {
      const r = await call(`/clusters/${encodeURIComponent(id)}/files${withSecrets ? '?includeSecrets=true' : ''}`, withSecrets ? { headers: { 'X-Secrets-Token': secretsToken } } : {});
      const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') ?? '')?.[1] ?? `${id}.tar.gz`;
      const url = URL.createObjectURL(await r.blob());
      const a = h('a', { href: url, download: name, class: 'hidden' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      say(errorText(ctx, e));
    }
  };

  /**
   * Ask before a step that cannot be undone. The safe answer has the focus (Enter on a key held too long does no
   * harm), Escape closes it like that answer, and the focus goes back to the button that opened it.
   */
  const confirm = (o: { what: string; text: string; yes: string; no: string; onYes: () => void }) => {
    const back = document.activeElement as HTMLElement | null;
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'confirm-text', class: 'confirm', id: `confirm-${o.what}-dialog` },
      h('p', { id: 'confirm-text' }, o.text),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'danger', id: `confirm-${o.what}`, onclick: () => (dialog.close(), o.onYes()) }, o.yes),
        h('button', { type: 'button', id: 'confirm-keep', autofocus: true, onclick: () => dialog.close() }, o.no),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      // the head may have been re-made meanwhile: its button of the same key
      const again = back?.dataset.key ? head.querySelector<HTMLElement>(`[data-key="${back.dataset.key}"]`) : null;
      (again ?? back)?.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
  };
  const confirmDelete = (name: string) =>
    confirm({ what: 'delete', text: ctx.t('install.deleteConfirm', { name, id }), yes: ctx.t('install.confirm'), no: ctx.t('install.keep'), onYes: () => void act(`/clusters/${encodeURIComponent(id)}`, 'DELETE', () => ctx.go('#/clusters')) });
  const confirmCancel = (name: string) =>
    confirm({ what: 'cancel', text: ctx.t('install.cancelConfirm', { name, id }), yes: ctx.t('install.cancel'), no: ctx.t('install.keepRunning'), onYes: () => void act(`/clusters/${encodeURIComponent(id)}/cancel`, 'POST') });

  function renderHead(d: { name: string; status: ClusterDetail['status']; executor: string; createdBy: string | null; startedAt: string | null; finishedAt: string | null; runs?: number }) {
    const running = !isTerminal(d.status);
    // re-made only when what it shows changes: a button replaced under the pointer would swallow the click
    const sig = JSON.stringify([d.status, d.startedAt, d.finishedAt, d.runs]);
    if (head.dataset.sig === sig) return;
    head.dataset.sig = sig;
    const hadFocus = head.contains(document.activeElement);
    replace(
      head,
      h('h1', {}, d.name, ' ', badge(ctx, d.status)),
      h(
        'dl',
        { class: 'facts inline' },
        h('dt', {}, ctx.t('install.executor')),
        h('dd', {}, d.executor),
        h('dt', {}, ctx.t('install.by')),
        h('dd', {}, d.createdBy ?? '—'),
        h('dt', {}, ctx.t('install.started')),
        h('dd', {}, time(d.startedAt)),
        h('dt', {}, ctx.t('install.finished')),
        h('dd', {}, time(d.finishedAt)),
        d.runs !== undefined ? [h('dt', {}, ctx.t('install.runs')), h('dd', {}, String(d.runs))] : null,
      ),
      h(
        'div',
        { class: 'actions' },
        running ? h('button', { type: 'button', id: 'cancel', 'data-key': 'cancel', onclick: () => confirmCancel(d.name) }, ctx.t('install.cancel')) : null,
        d.status === 'failed' || d.status === 'cancelled' ? h('button', { type: 'button', id: 'resume', class: 'primary', 'data-key': 'resume', onclick: () => act(`/clusters/${encodeURIComponent(id)}/resume`, 'POST') }, ctx.t('install.resume')) : null,
        !running ? h('button', { type: 'button', id: 'delete', class: 'danger', 'data-key': 'delete', onclick: () => confirmDelete(d.name) }, ctx.t('install.delete')) : null,
      ),
    );
    // the button that had the focus is gone (Cancel once it is cancelled): the focus goes to what replaced it
    if (hadFocus && !head.contains(document.activeElement)) head.querySelector<HTMLElement>('.actions button')?.focus();
  }

  function renderFiles() {
    const secrets = h('input', { type: 'checkbox', id: 'with-secrets' });
    const secretsToken = h('input', { type: 'password', id: 'secrets-token', autocomplete: 'off' });
    replace(
      files,
      h('button', { type: 'button', id: 'download', onclick: () => download(secrets.checked, secretsToken.value) }, ctx.t('install.download')),
      h('details', { class: 'secrets' }, h('summary', {}, ctx.t('install.secrets')), h('label', {}, secrets, ' ', ctx.t('install.secrets')), h('label', { for: 'secrets-token' }, ctx.t('install.secretsToken')), secretsToken),
    );
  }

  function render() {
    const m = model;
    if (!m) return;
    renderHead({ ...m.detail, status: m.status, startedAt: m.startedAt, finishedAt: m.finishedAt });
    root.dataset.status = m.status;
    root.dataset.events = String(m.applied);
    root.dataset.lastSeq = String(m.lastSeq);

    const p = m.progress();
    const left = m.remaining(Date.now());
    const elapsed = m.startedAt && m.finishedAt ? Date.parse(m.finishedAt) - Date.parse(m.startedAt) : null;
    replace(
      progress,
      h('label', { for: 'progress-bar' }, ctx.t('install.progress')),
      h('progress', { id: 'progress-bar', max: p.total, value: p.finished }),
      h(
        'p',
        { id: 'progress-text' },
        ctx.t('install.stepsOf', { done: p.finished, total: p.total }),
        p.failed ? ` · ${ctx.t('install.failedN', { n: p.failed })}` : '',
        p.interrupted ? ` · ${ctx.t('install.interruptedN', { n: p.interrupted })}` : '',
        ' · ',
        isTerminal(m.status)
          ? elapsed !== null ? ctx.t('install.elapsed', { t: formatDuration(elapsed) }) : ''
          : left
            ? ctx.t('install.remaining', { t: formatDuration(left.ms), n: left.basis })
            : ctx.t('install.remainingUnknown'),
      ),
    );
    replace(
      stream,
      ctx.t(streamState === 'reconnecting' ? 'install.reconnecting' : streamState === 'done' ? 'install.complete' : 'install.live', { n: m.applied, seq: m.lastSeq }),
    );

    const failed = m.steps.find((s) => s.state === 'failed');
    const failureSig = JSON.stringify([m.status, failed?.id, failed?.error, m.reason]);
    if (failure.dataset.sig !== failureSig) {
      failure.dataset.sig = failureSig;
      replace(failure, m.status === 'failed' ? failureBox(m.reason, failed) : null);
    }

    if (!grid.firstChild) replace(grid, gridTable(m));
    updateGrid(m);
    renderAside(m);
  }

  /** Why the install stopped: the failed step's cause first, then a way to its detail. */
  function failureBox(reason: string | null, failed: StepModel | undefined): HTMLElement {
    return h(
      'div',
      { class: 'card failure', role: 'alert', id: 'why' },
      h('h2', {}, ctx.t('install.error')),
      h('p', { class: 'cause' }, failed?.error ? splitError(failed.error).cause : (reason ?? '')),
      failed
        ? h('p', {}, h('button', { type: 'button', class: 'link', 'data-key': 'why-step', onclick: () => openStep(failed.phase, failed.host ?? CLUSTER, failed.id) }, `${failed.description} — ${failed.host ?? ctx.t('install.cluster')}`))
        : null,
    );
  }

  const hostLabel = (host: string) => (host === CLUSTER ? ctx.t('install.cluster') : host);

  function gridTable(m: InstallModel): HTMLElement {
    return h(
      'table',
      { class: 'grid', id: 'grid' },
      h('caption', {}, ctx.t('install.grid')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ctx.t('install.phase')), h('th', { scope: 'col' }, ctx.t('install.time')), m.hosts.map((host) => h('th', { scope: 'col' }, hostLabel(host))))),
      h(
        'tbody',
        {},
        m.phases.map(({ name }) => {
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, name),
            h('td', { class: 'time', 'data-phase': name }),
            m.hosts.map((host) => {
              if (m.cell(name, host).total === 0) return h('td', { class: 'empty' });
              return h('td', {}, h('button', { type: 'button', class: 'cell', 'data-phase': name, 'data-host': host, onclick: () => openCell(name, host) }, h('span', { 'aria-hidden': 'true' }), ' ', h('span', {})));
            }),
          );
        }),
      ),
      h(
        'tfoot',
        {},
        h('tr', {}, h('td', { colspan: m.hosts.length + 2, class: 'legend' }, (['pending', 'running', 'interrupted', 'probe', 'skipped', 'changed', 'ok', 'failed'] as const).map((s) => h('span', { class: `chip state-${s}` }, `${SYMBOL[s]} ${ctx.t(`state.${s}`)}`)))),
      ),
    );
  }

  /** Each cell's count, state and label, and each phase's time, set in place (see renderHead for why). */
  function updateGrid(m: InstallModel) {
    const set = (el: Element, attr: string, value: string) => el.getAttribute(attr) !== value && el.setAttribute(attr, value);
    for (const td of grid.querySelectorAll<HTMLElement>('td.time')) {
      const pt = m.phaseTimes.get(td.dataset.phase!);
      const took = pt?.durationMs != null ? formatDuration(pt.durationMs) : pt && !isTerminal(m.status) ? `${formatDuration(Date.now() - Date.parse(pt.startedAt))}…` : '';
      if (td.textContent !== took) td.textContent = took;
    }
    for (const b of grid.querySelectorAll<HTMLButtonElement>('button.cell')) {
      const { phase, host } = b.dataset as { phase: string; host: string };
      const c = m.cell(phase, host);
      const finished = (c.counts.changed ?? 0) + (c.counts.ok ?? 0) + (c.counts.probe ?? 0) + (c.counts.skipped ?? 0);
      const summary = SHOWN_STATES.filter((s) => c.counts[s]).map((s) => `${c.counts[s]} ${ctx.t(`state.${s}`)}`).join(', ');
      const selected = cell?.phase === phase && cell.host === host;
      set(b, 'class', `cell state-${c.state}${selected ? ' selected' : ''}`);
      set(b, 'data-state', c.state ?? '');
      set(b, 'aria-pressed', String(selected));
      const count = `${finished}/${c.total}`;
      set(b, 'aria-label', ctx.t('install.cell', { count, phase, host: hostLabel(host), summary }));
      set(b, 'title', summary);
      const [symbol, text] = [b.firstElementChild!, b.lastElementChild!];
      if (symbol.textContent !== SYMBOL[c.state!]) symbol.textContent = SYMBOL[c.state!];
      if (text.textContent !== count) text.textContent = count;
    }
  }

  function renderAside(m: InstallModel) {
    const s = stepId ? m.step(stepId) : undefined;
    const shown = s ? [s] : cell ? m.stepsIn(cell.phase, cell.host) : [];
    const sig = JSON.stringify([cell, stepId, shown.map((x) => [x.state, x.durationMs, x.attempts, x.error, x.output.length])]);
    if (aside.dataset.sig === sig) return;
    aside.dataset.sig = sig;
    if (s) {
      const probe = plan?.phases.flatMap((p) => p.steps).find((x) => x.id === s.id)?.probe;
      replace(aside, stepView(ctx, s, probe, closeStep));
      return;
    }
    if (!cell) return replace(aside, h('p', { class: 'muted' }, ctx.t('install.selectCell')));
    const { phase, host } = cell;
    replace(
      aside,
      h('h2', { id: 'cell-heading', tabindex: '-1', 'data-key': 'cell-heading' }, ctx.t('install.stepsIn', { phase, host: hostLabel(host) })),
      h(
        'ul',
        { class: 'steps' },
        m.stepsIn(phase, host).map((st) => {
          const state = shownState(st);
          return h(
            'li',
            {},
            h('span', { class: `chip state-${state}`, title: ctx.t(`state.${state}`) }, SYMBOL[state]),
            ' ',
            h('button', { type: 'button', class: 'link step-link', 'data-key': `step:${st.id}`, 'data-step': st.id, onclick: () => openStep(phase, host, st.id) }, st.description),
            h('span', { class: 'muted' }, ` ${ctx.t(`state.${state}`)}${st.durationMs !== null ? ` · ${formatDuration(st.durationMs)}` : ''}`),
          );
        }),
      ),
    );
  }

  // Keyboard: a cell opens its steps beside the grid and the focus goes there; a step opens its detail; Escape goes
  // back one level (detail -> the step's link, steps -> the cell), as does the detail's close button.
  function openCell(phase: string, host: string) {
    cell = { phase, host };
    stepId = null;
    render();
    aside.querySelector<HTMLElement>('#cell-heading')?.focus();
  }
  function openStep(phase: string, host: string, id: string) {
    cell = { phase, host };
    stepId = id;
    render();
    aside.querySelector<HTMLElement>('#step-heading')?.focus();
  }
  function closeStep() {
    const was = stepId;
    stepId = null;
    render();
    aside.querySelector<HTMLElement>(`button.step-link[data-step="${CSS.escape(was ?? '')}"]`)?.focus();
  }
  function closeCell() {
    const was = cell;
    cell = null;
    render();
    if (was) grid.querySelector<HTMLElement>(`button.cell[data-phase="${CSS.escape(was.phase)}"][data-host="${CSS.escape(was.host)}"]`)?.focus();
  }
  aside.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || (!stepId && !cell)) return;
    e.preventDefault();
    if (stepId) closeStep();
    else closeCell();
  });

  // the estimate and running phases' times move on between events
  const tick = setInterval(() => model && !isTerminal(model.status) && schedule(), 1000);
  signal.addEventListener('abort', () => clearInterval(tick));
  void load();
  return root;
}

