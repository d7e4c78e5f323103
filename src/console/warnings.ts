// The validator's warnings where the operator decides (before a dry run, on the install page): a translated
// title by code, then the validator's message and the path it is about.
import type { Ctx } from './context.js';
import { h } from './dom.js';
import { warningTitle } from './i18n.js';
import type { Issue } from './model.js';

export function issueList(ctx: Ctx, issues: Issue[], kind: 'warning' | 'error'): HTMLElement {
  return h(
    'ul',
    { class: `issues ${kind}` },
    issues.map((w) =>
      h(
        'li',
        { 'data-code': w.code },
        warningTitle(ctx.lang, w.code) ? h('strong', {}, warningTitle(ctx.lang, w.code)!) : null,
        warningTitle(ctx.lang, w.code) ? h('br') : null,
        w.path ? h('code', {}, w.path) : null,
        w.path ? ': ' : '',
        w.message,
      ),
    ),
  );
}
