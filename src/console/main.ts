// The console's entry: language (the browser's preference, or the operator's choice), the session, and a router
// over the location hash (#/clusters, #/clusters/<id>, #/new, #/login). Data comes only from the REST API.
import { session, setOnUnauthorized } from './api.js';
import { ctxFor, type Ctx } from './context.js';
import { h, replace } from './dom.js';
import { htmlLang, LANGS, pickLang, type Lang } from './i18n.js';
import { installView } from './install.js';
import { listView } from './list.js';
import { loginView } from './login.js';
import { JOB_STATUSES, type JobStatus } from './model.js';
import { newView } from './new.js';

const LANG_KEY = 'airgap-k8s.console.lang';
const chosen = localStorage.getItem(LANG_KEY);
let lang: Lang = (LANGS as readonly string[]).includes(chosen ?? '') ? (chosen as Lang) : pickLang(navigator.languages);
let notice: string | null = null;
let current: { key: string; abort: AbortController } | undefined;

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;

const go = (hash: string) => {
  if (location.hash === hash) route(true);
  else location.hash = hash;
};

setOnUnauthorized(() => {
  notice = ctxFor(lang, go).t('login.expired');
  go('#/login');
});

function renderNav(ctx: Ctx, loggedIn: boolean) {
  document.documentElement.lang = htmlLang(lang);
  document.title = ctx.t('title');
  replace(
    nav,
    h('a', { href: '#/clusters', class: 'brand' }, ctx.t('title')),
    loggedIn ? h('a', { href: '#/clusters', id: 'nav-installs' }, ctx.t('nav.installs')) : null,
    loggedIn ? h('a', { href: '#/new', id: 'nav-new' }, ctx.t('nav.new')) : null,
    h('span', { class: 'spacer' }),
    h(
      'button',
      {
        type: 'button',
        id: 'lang',
        'data-key': 'lang',
        lang: lang === 'en' ? 'zh-CN' : 'en',
        onclick: () => {
          lang = lang === 'en' ? 'zh' : 'en';
          localStorage.setItem(LANG_KEY, lang);
          route(true);
        },
      },
      ctx.t('nav.lang'),
    ),
    loggedIn
      ? h(
          'button',
          {
            type: 'button',
            id: 'logout',
            onclick: () => {
              session.clear();
              notice = null;
              go('#/login');
            },
          },
          ctx.t('nav.logout'),
        )
      : null,
  );
}

/** Show the view for the hash; an unchanged view is kept (its live stream goes on) unless `force`. */
function route(force = false) {
  const ctx = ctxFor(lang, go);
  const hash = location.hash || '#/clusters';
  const loggedIn = session.token() !== null;
  const path = loggedIn ? hash : '#/login';
  if (!force && current?.key === path) return;
  const first = current === undefined;
  current?.abort.abort();
  const abort = new AbortController();
  current = { key: path, abort };
  renderNav(ctx, loggedIn);
  const [p, query = ''] = path.slice(1).split('?');
  const install = /^\/clusters\/([0-9a-z]+)$/.exec(p ?? '');
  let view: HTMLElement;
  if (path === '#/login') {
    if (loggedIn && !notice) return go('#/clusters');
    view = loginView(ctx, notice);
    notice = null;
  } else if (install) view = installView(ctx, install[1]!, abort.signal);
  else if (p === '/new') view = newView(ctx);
  else {
    const status = new URLSearchParams(query).get('status');
    view = listView(ctx, JOB_STATUSES.includes(status as JobStatus) ? (status as JobStatus) : null, abort.signal);
  }
  replace(main, view);
  // after a navigation the focus starts at the new view (Tab goes to its first control), unless it stayed on the
  // control that navigated (the status filter, the language button); not on the first load
  if (!first && (document.activeElement === null || document.activeElement === document.body)) main.focus({ preventScroll: true });
  document.body.dataset.view = path === '#/login' ? 'login' : install ? 'install' : p === '/new' ? 'new' : 'list';
}

addEventListener('hashchange', () => route());
route();
