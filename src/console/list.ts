// The installs: newest first, filtered by status, refreshed every few seconds while shown.
import { getJson } from './api.js';
import { errorText, type Ctx } from './context.js';
import { h, replace, time } from './dom.js';
import { JOB_STATUSES, type ClusterSummary, type JobStatus } from './model.js';

export function listView(ctx: Ctx, status: JobStatus | null, signal: AbortSignal): HTMLElement {
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' });
  const select = h(
    'select',
    { id: 'status-filter', 'data-key': 'status-filter', onchange: () => ctx.go(select.value ? `#/clusters?status=${select.value}` : '#/clusters') },
    h('option', { value: '' }, ctx.t('list.all')),
    JOB_STATUSES.map((s) => h('option', { value: s, selected: s === status }, ctx.t(`status.${s}`))),
  );
  const load = async () => {
    try {
      const { items } = await getJson<{ items: ClusterSummary[] }>(`/clusters?limit=100${status ? `&status=${status}` : ''}`, { signal });
      if (signal.aborted) return;
      replace(body, items.length === 0 ? h('p', { class: 'muted' }, ctx.t('list.empty')) : table(ctx, items));
      body.setAttribute('aria-busy', 'false');
      document.body.dataset.listed = String(items.length);
      // ms from the start of navigation to this list on screen (npm run bench reads it)
      document.body.dataset.listedMs = String(Math.round(performance.now()));
    } catch (e) {
      if (!signal.aborted) replace(body, h('p', { class: 'error', role: 'alert' }, errorText(ctx, e)));
    }
  };
  void load();
  const timer = setInterval(load, 5000);
  signal.addEventListener('abort', () => clearInterval(timer));
  return h(
    'section',
    { class: 'list', 'aria-labelledby': 'list-heading' },
    h('div', { class: 'toolbar' }, h('h1', { id: 'list-heading' }, ctx.t('list.heading')), h('label', { for: 'status-filter' }, ctx.t('list.filter')), select),
    body,
  );
}

function table(ctx: Ctx, items: ClusterSummary[]): HTMLElement {
  return h(
    'table',
    { class: 'installs' },
    h('caption', { class: 'muted' }, ctx.t('list.count', { n: items.length })),
    h('thead', {}, h('tr', {}, ...(['list.name', 'list.status', 'list.started', 'list.finished', 'list.executor', 'list.by', 'list.id'] as const).map((k) => h('th', { scope: 'col' }, ctx.t(k))))),
    h(
      'tbody',
      {},
      items.map((c) =>
        h(
          'tr',
          { 'data-id': c.id },
          h('td', {}, h('a', { href: `#/clusters/${c.id}`, 'data-key': `install:${c.id}` }, c.name)),
          h('td', {}, badge(ctx, c.status)),
          h('td', {}, time(c.startedAt ?? c.createdAt)),
          h('td', {}, time(c.finishedAt)),
          h('td', {}, c.executor),
          h('td', {}, c.createdBy ?? '—'),
          h('td', { class: 'mono' }, c.id.slice(0, 10)),
        ),
      ),
    ),
  );
}

export const badge = (ctx: Ctx, s: JobStatus): HTMLElement => h('span', { class: `badge status-${s}` }, ctx.t(`status.${s}`));
