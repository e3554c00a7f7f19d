import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/api-keys.js';
import { AppError } from '../errors.js';
import { csrfMatches, type SessionStore } from './session-store.js';

/** Cookie names: `__Host-` (Secure, Path=/, no Domain) when served over https. */
export const SESSION_COOKIE = 'lf_session';
export const SECURE_SESSION_COOKIE = '__Host-lf_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Reads one cookie from a `Cookie` header without decoding surprises (values are base64url). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session token a request carries, from whichever of the two cookie names is present. */
export function sessionToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return readCookie(header, SECURE_SESSION_COOKIE) ?? readCookie(header, SESSION_COOKIE);
}

const isHttps = (request: FastifyRequest) => request.protocol === 'https';

/** `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Secure when served over https. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  maxAgeSeconds: number,
): void {
  const secure = isHttps(request);
  const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  reply.header(
    'set-cookie',
    `${name}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
  );
}

/** Expires both cookie names, whichever the browser holds. */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  const secure = isHttps(request) ? '; Secure' : '';
  reply.header('set-cookie', [
    `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure}`,
    ...(secure
      ? [`${SECURE_SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure}`]
      : []),
  ]);
}

/**
 * A request from another site is refused even before the token check: when the browser sends
 * `Origin` (it does on every cross-origin and every unsafe request), its host must be this
 * request's host (`X-Forwarded-Host` counts with TRUST_PROXY) or the host of PUBLIC_BASE_URL,
 * which covers proxies that rewrite `Host`.
 */
export function sameOrigin(request: FastifyRequest, publicBaseUrl?: string): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  if (host === request.host.toLowerCase()) return true;
  return publicBaseUrl !== undefined && host === new URL(publicBaseUrl).host.toLowerCase();
}

/**
 * Authenticates a request by its session cookie, for the auth guards. Unsafe methods must
 * also carry the session's CSRF token in `X-CSRF-Token` and come from our own origin: the
 * cookie alone never authorises a change.
 */
export function sessionIdentifier(
  store: SessionStore,
  publicBaseUrl?: string,
): {
  identify(request: FastifyRequest): Promise<Principal | undefined>;
} {
  return {
    async identify(request) {
      const token = sessionToken(request);
      if (token === undefined) return undefined;
      const principal = await store.principal(token);
      if (principal === undefined) return undefined;
      if (!SAFE_METHODS.has(request.method)) {
        const header = request.headers[CSRF_HEADER];
        if (
          !sameOrigin(request, publicBaseUrl) ||
          !csrfMatches(token, typeof header === 'string' ? header : undefined)
        ) {
          throw new AppError(
            'csrf_failed',
            'A change made with a session cookie needs its X-CSRF-Token header, from this origin.',
          );
        }
      }
      return principal;
    },
  };
}
