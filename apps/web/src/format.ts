const number = new Intl.NumberFormat(undefined);
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const fmtNumber = (n: number): string => number.format(n);
export const fmtCompact = (n: number): string =>
  n < 10_000 ? number.format(n) : compact.format(n);
export const fmtDateTime = (iso: string): string => dateTime.format(new Date(iso));
export const fmtDate = (iso: string): string => date.format(new Date(iso));

/** "example.com" from a URL, or the URL itself when it does not parse. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** "sho.rt/abc" — the short URL without its scheme, as people say it. */
export function bareUrl(url: string): string {
  return url.replace(/^https?:\/\//, '');
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Path, query and fragment of a URL ("/a?b=1"), "" for a bare origin. */
export function pathOf(url: string): string {
  try {
    const u = new URL(url);
    const rest = `${u.pathname}${u.search}${u.hash}`;
    return rest === '/' ? '' : rest;
  } catch {
    return '';
  }
}
