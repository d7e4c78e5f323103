// What every view gets: the language and its messages, navigation, and one way to show an error.
import { ApiError, Unauthorized } from './api.js';
import { t as translate, type Lang, type MessageKey } from './i18n.js';

export interface Ctx {
  lang: Lang;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** go to a view: '#/clusters', '#/clusters/<id>', '#/new' */
  go(hash: string): void;
}

export const ctxFor = (lang: Lang, go: (hash: string) => void): Ctx => ({ lang, t: (k, v) => translate(lang, k, v), go });

/** An error as the operator reads it (401 is handled by the login view; nothing to say here). */
export function errorText(ctx: Ctx, e: unknown): string | null {
  if (e instanceof Unauthorized) return null;
  if (e instanceof ApiError) return e.status === 403 ? ctx.t('err.forbidden', { msg: e.message }) : ctx.t('err.generic', { status: e.status, msg: e.message });
  return ctx.t('err.network', { msg: e instanceof Error ? e.message : String(e) });
}
