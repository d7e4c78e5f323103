// One step: what it does, where, what its probe found, its output (redacted by the service), and when it failed,
// the cause first, then the host and exit code, then the command to run by hand.
import type { Ctx } from './context.js';
import { h } from './dom.js';
import { formatDuration, shownState, splitError, type StepModel } from './model.js';

export function stepView(ctx: Ctx, s: StepModel, probe: Record<string, unknown> | undefined, back: () => void): HTMLElement {
  const state = shownState(s);
  const host = s.host ?? ctx.t('install.cluster');
  // an interrupted step did not fail: what stopped it was the cancel (or a service stop), not its command
  const err = s.error && state !== 'interrupted' ? splitError(s.error) : null;
  const row = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'section',
    { class: 'step', 'aria-labelledby': 'step-heading', 'data-step': s.id },
    h('button', { type: 'button', class: 'link', id: 'step-close', 'data-key': 'step-close', 'aria-keyshortcuts': 'Escape', onclick: back }, ctx.t('step.close')),
    h('h2', { id: 'step-heading', tabindex: '-1', 'data-key': 'step-heading' }, s.description),
    state === 'interrupted' ? h('p', { class: 'interrupted-note', id: 'interrupted-note' }, ctx.t('step.interrupted')) : null,
    err
      ? h(
          'div',
          { class: 'failure', role: 'alert' },
          h('h3', {}, ctx.t('step.cause')),
          h('p', { class: 'cause' }, err.cause),
          err.exitCode !== null ? h('p', { class: 'muted' }, ctx.t('step.exit', { code: err.exitCode, host: err.host ?? host })) : null,
          s.command ? [h('p', {}, ctx.t('step.command', { host })), h('pre', { class: 'command', tabindex: '0' }, s.command)] : null,
        )
      : null,
    h(
      'dl',
      { class: 'facts' },
      row(ctx.t('step.state'), h('span', { class: `chip state-${state}` }, ctx.t(`state.${state}`))),
      row(ctx.t('step.host'), host),
      row(ctx.t('step.phase'), s.phase),
      row(ctx.t('step.kind'), s.kind),
      row(ctx.t('step.attempts'), String(s.attempts)),
      row(ctx.t('step.duration'), s.durationMs === null ? ctx.t('time.none') : formatDuration(s.durationMs)),
      row(ctx.t('step.probe'), probeText(ctx, s, probe)),
    ),
    h('h3', {}, ctx.t('step.output')),
    s.output.length ? h('pre', { class: 'output', tabindex: '0' }, s.output.join('')) : h('p', { class: 'muted' }, ctx.t('step.noOutput')),
    h('p', { class: 'muted mono' }, s.id),
  );
}

function probeText(ctx: Ctx, s: StepModel, probe: Record<string, unknown> | undefined): string {
  const what = probe ? `${String(probe.kind)}${typeof probe.path === 'string' ? ` ${probe.path}` : ''}: ` : '';
  if (!probe && s.state !== 'skipped') return ctx.t('step.probeNone');
  if (s.state === 'skipped') return what + (s.reason === 'probe' ? ctx.t('step.probeSkipped') : ctx.t(reasonKey(s.reason)));
  if (s.state === 'done') return what + ctx.t(s.changed ? 'step.probeChanged' : 'step.probeUnchanged');
  return what + ctx.t('step.probeWaiting');
}

export const reasonKey = (r: string | null) =>
  r === 'journal' ? ('reason.journal' as const) : r === 'no-change' ? ('reason.no-change' as const) : r === 'no-bundle' ? ('reason.no-bundle' as const) : ('reason.probe' as const);
