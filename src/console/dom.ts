// Building the DOM without markup strings: every text goes in as a text node, so nothing the service returns can
// become HTML (and the page's CSP forbids inline scripts and styles anyway).

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

/**
 * Replace a container's content, keeping keyboard focus on the element with the same data-key (live updates
 * re-render the grid many times a second; a keyboard user must not lose their place).
 */
export function replace(container: Element, ...children: Child[]): void {
  const key = (document.activeElement as HTMLElement | null)?.dataset?.key;
  const inside = key !== undefined && container.contains(document.activeElement);
  container.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'number' ? String(c) : c)));
  if (inside) container.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

/**
 * A time as the operator's clock shows it, `2026-12-04 13:22:28`, the same in both languages and unambiguous in
 * either. Not toLocaleString: its first call on a page loads the browser's locale data, which cost 25-300 ms (median
 * about 50) of a cold load of the list on the 2-core machine the bench runs on.
 */
export function time(iso: string | null, none = '—'): string {
  if (!iso) return none;
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
