/**
 * Instant validation of link fields, mirroring the server's rules (links/validate.ts) so that
 * a person sees what is wrong while typing. The server stays the authority.
 */

export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
const TAG_PATTERN = /^[\p{L}\p{N}_ .:/-]{1,40}$/u;
const MAX_URL_LENGTH = 2048;
const MAX_TITLE_LENGTH = 300;
const MAX_TAGS = 20;

export const RESERVED_ALIASES: ReadonlySet<string> = new Set([
  'admin',
  'api',
  'app',
  'assets',
  'auth',
  'dashboard',
  'docs',
  'favicon',
  'files',
  'graphql',
  'health',
  'healthz',
  'help',
  'login',
  'logout',
  'media',
  'metrics',
  'openapi',
  'qr',
  'readyz',
  'robots',
  'settings',
  'signin',
  'signout',
  'static',
  'status',
  'uploads',
  'well-known',
  'www',
]);

/** An error message, or null when the value is fine. */
export type Check = string | null;

export function checkUrl(raw: string): Check {
  const v = raw.trim();
  if (v === '') return 'Enter the destination URL.';
  if (v.length > MAX_URL_LENGTH) return `At most ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return /^[a-z][a-z0-9+.-]*:/i.test(v)
      ? 'This is not a valid URL.'
      : 'Start with https:// (or http://).';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `Only http and https links, not ${url.protocol}`;
  if (url.username !== '' || url.password !== '')
    return 'Remove the user:password@ part: links with credentials are refused.';
  if (url.hostname === '') return 'The URL has no host.';
  return null;
}

export function checkAlias(raw: string): Check {
  const v = raw.trim();
  if (v === '') return null;
  if (v.length < 3) return 'At least 3 characters.';
  if (v.length > 64) return 'At most 64 characters.';
  if (!ALIAS_PATTERN.test(v)) return 'Only letters, digits, "-" and "_".';
  if (RESERVED_ALIASES.has(v.toLowerCase())) return `"${v}" is reserved; choose another.`;
  return null;
}

/** `datetime-local` value (local time, no zone) → must lie in the future. */
export function checkExpiry(raw: string, now = Date.now()): Check {
  if (raw === '') return null;
  const t = new Date(raw).getTime();
  if (Number.isNaN(t)) return 'Enter a valid date and time.';
  if (t <= now) return 'The expiry must be in the future.';
  return null;
}

export function checkMaxClicks(raw: string): Check {
  const v = raw.trim();
  if (v === '') return null;
  if (!/^\d+$/.test(v)) return 'A whole number, 1 or more.';
  const n = Number(v);
  if (n < 1) return 'At least 1 click.';
  if (!Number.isSafeInteger(n)) return 'That number is too large.';
  return null;
}

export function checkTitle(raw: string): Check {
  return raw.trim().length > MAX_TITLE_LENGTH ? `At most ${MAX_TITLE_LENGTH} characters.` : null;
}

/** Tags are typed comma-separated. */
export function parseTags(raw: string): string[] {
  return [
    ...new Set(
      raw
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    ),
  ];
}

export function checkTags(raw: string): Check {
  const tags = parseTags(raw);
  if (tags.length > MAX_TAGS) return `At most ${MAX_TAGS} tags.`;
  const bad = tags.find((t) => !TAG_PATTERN.test(t));
  return bad === undefined
    ? null
    : `"${bad.slice(0, 40)}": 1–40 letters, digits, spaces and _ . : / - only.`;
}

/** ISO instant for the API from a `datetime-local` value, or null when empty. */
export function expiryToIso(raw: string): string | null {
  return raw === '' ? null : new Date(raw).toISOString();
}

/** `datetime-local` value (local time) for an ISO instant. */
export function isoToLocalInput(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
