// Validate a spec (pasted or loaded from a file) and start a dry run of it; the validator's warnings are shown
// here, next to the button that starts it.
import { ApiError, call, getJson, specType } from './api.js';
import { errorText, type Ctx } from './context.js';
import { h, replace } from './dom.js';
import type { Issue } from './model.js';
import { issueList } from './warnings.js';

export function newView(ctx: Ctx): HTMLElement {
  const text = h('textarea', { id: 'spec', rows: 16, spellcheck: 'false', autocomplete: 'off' });
  const file = h('input', {
    type: 'file',
    id: 'spec-file',
    accept: '.yaml,.yml,.json,application/yaml,application/json',
    onchange: async () => {
      const f = file.files?.[0];
      if (f) text.value = await f.text();
    },
  });
  const result = h('div', { id: 'result', 'aria-live': 'polite' });
  const body = () => ({ method: 'POST', body: text.value, headers: { 'Content-Type': specType(text.value) } });

  const show = (e: unknown) => {
    if (e instanceof ApiError && e.status === 422) {
      replace(result, h('div', { class: 'card error-box', role: 'alert' }, h('p', {}, ctx.t('new.invalid', { n: e.issues.length })), issueList(ctx, e.issues, 'error')));
    } else replace(result, h('p', { class: 'error', role: 'alert' }, errorText(ctx, e)));
  };
  const warningsOf = (ws: Issue[]) =>
    ws.length
      ? h('div', { class: 'card warnings', id: 'warnings' }, h('h2', {}, ctx.t('new.warnings', { n: ws.length })), issueList(ctx, ws, 'warning'))
      : h('p', { class: 'muted' }, ctx.t('new.noWarnings'));

  const validate = async () => {
    try {
      const r = await getJson<{ cluster: string; hosts: number; warnings: Issue[] }>('/validate', body());
      replace(result, h('p', { class: 'ok', role: 'status' }, ctx.t('new.valid', { name: r.cluster, hosts: r.hosts })), warningsOf(r.warnings));
    } catch (e) {
      show(e);
    }
  };
  const dryRun = async () => {
    try {
      const r = await call('/clusters?dryRun=true', body());
      const { id } = (await r.json()) as { id: string };
      ctx.go(`#/clusters/${id}`);
    } catch (e) {
      show(e);
    }
  };

  return h(
    'section',
    { class: 'new', 'aria-labelledby': 'new-heading' },
    h('h1', { id: 'new-heading' }, ctx.t('new.heading')),
    h('label', { for: 'spec' }, ctx.t('new.spec')),
    text,
    h('p', {}, h('label', { for: 'spec-file' }, ctx.t('new.file')), ' ', file),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'validate', onclick: validate }, ctx.t('new.validate')),
      h('button', { type: 'button', id: 'dry-run', class: 'primary', onclick: dryRun }, ctx.t('new.dryRun')),
    ),
    result,
  );
}
