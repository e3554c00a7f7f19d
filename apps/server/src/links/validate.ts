import { AppError } from '../errors.js';

export const MAX_URL_LENGTH = 2048;
export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
export const MAX_TITLE_LENGTH = 300;
export const MAX_TAGS = 20;
export const TAG_PATTERN = /^[\p{L}\p{N}_ .:/-]{1,40}$/u;

/**
 * Paths the service answers itself; an alias may not shadow them. Compared case-insensitively
 * so that `API` or `Docs` cannot impersonate them either.
 */
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

/**
 * Checks a destination URL and returns its normalised WHATWG serialisation, which is what is
 * stored and sent back in `Location` (query and fragment preserved).
 *
 * @param ownHosts hostnames of this service: links to them would loop.
 */
export function normalizeTargetUrl(raw: string, ownHosts: ReadonlySet<string>): string {
  if (raw.length > MAX_URL_LENGTH) {
    throw new AppError('invalid_url', `The URL is longer than ${MAX_URL_LENGTH} characters.`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid_url', 'The URL is not a valid absolute URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError(
      'invalid_url',
      `Only http and https URLs can be shortened, not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new AppError('invalid_url', 'URLs with credentials (user:password@) are refused.');
  }
  if (url.hostname === '') throw new AppError('invalid_url', 'The URL has no host.');
  if (ownHosts.has(url.hostname.toLowerCase())) {
    throw new AppError(
      'invalid_url',
      'The URL points to this shortener: it would redirect in a loop.',
    );
  }
  const href = url.href;
  if (href.length > MAX_URL_LENGTH) {
    throw new AppError(
      'invalid_url',
      `The URL is longer than ${MAX_URL_LENGTH} characters once encoded.`,
    );
  }
  return href;
}

export function validateAlias(alias: string): string {
  if (!ALIAS_PATTERN.test(alias)) {
    throw new AppError(
      'invalid_alias',
      'An alias has 3 to 64 characters: letters, digits, "-" and "_".',
    );
  }
  if (RESERVED_ALIASES.has(alias.toLowerCase())) {
    throw new AppError('invalid_alias', `"${alias}" is reserved.`);
  }
  return alias;
}

export function validateExpiry(raw: string | null | undefined, now = Date.now()): Date | null {
  if (raw === undefined || raw === null) return null;
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) {
    throw new AppError('validation_failed', 'expiresAt must be an ISO 8601 date-time.');
  }
  if (d.getTime() <= now)
    throw new AppError('validation_failed', 'expiresAt must be in the future.');
  return d;
}

export function validateTitle(title: string | null | undefined): string | null {
  if (title === undefined || title === null) return null;
  const t = title.trim();
  if (t.length > MAX_TITLE_LENGTH) {
    throw new AppError('validation_failed', `title has at most ${MAX_TITLE_LENGTH} characters.`);
  }
  return t === '' ? null : t;
}

export function validateTags(tags: readonly string[] | undefined): string[] {
  if (tags === undefined) return [];
  if (tags.length > MAX_TAGS) throw new AppError('validation_failed', `At most ${MAX_TAGS} tags.`);
  const out = new Set<string>();
  for (const tag of tags) {
    const t = tag.trim();
    if (!TAG_PATTERN.test(t)) {
      throw new AppError(
        'validation_failed',
        `Tag "${tag.slice(0, 50)}" is not allowed (1–40 letters, digits, space, _ . : / -).`,
      );
    }
    out.add(t);
  }
  return [...out];
}
