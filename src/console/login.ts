// The login view: the token is pasted once, checked against the API, and kept in this tab's sessionStorage only.
import { call, session, Unauthorized } from './api.js';
import { errorText, type Ctx } from './context.js';
import { h } from './dom.js';

export function loginView(ctx: Ctx, notice: string | null): HTMLElement {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help' });
  const message = h('p', { id: 'login-message', role: 'alert', class: notice ? 'error' : 'hidden' }, notice ?? '');
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) {
          message.textContent = ctx.t('login.empty');
          message.className = 'error';
          return;
        }
        session.set(token);
        try {
          await call('/clusters?limit=1');
          ctx.go('#/clusters');
        } catch (err) {
          message.textContent = err instanceof Unauthorized ? ctx.t('login.refused') : (errorText(ctx, err) ?? '');
          message.className = 'error';
          input.value = '';
          input.focus();
        }
      },
    },
    h('h1', {}, ctx.t('login.heading')),
    h('label', { for: 'token' }, ctx.t('login.token')),
    input,
    h('p', { id: 'token-help', class: 'help' }, ctx.t('login.help')),
    h('button', { type: 'submit', class: 'primary' }, ctx.t('login.submit')),
    message,
  );
  queueMicrotask(() => input.focus());
  return form;
}
