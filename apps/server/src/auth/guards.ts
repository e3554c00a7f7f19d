import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { RateLimiter } from '../infra/ratelimit/rate-limiter.js';
import type { ApiKeyService, Principal } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface GuardOptions {
  readonly keys: ApiKeyService;
  readonly allowAnonymous: boolean;
  readonly defaultWorkspaceId: number;
  /**
   * Dashboard sessions: consulted only when there is no `Authorization` header. Returns the
   * session's principal, or undefined without a live session; throws when an unsafe method
   * lacks the session's CSRF token.
   */
  readonly sessions?: { identify(request: FastifyRequest): Promise<Principal | undefined> };
}

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Hooks that establish `request.principal` from `Authorization: Bearer <key>` or, without that
 * header, from a dashboard session cookie (with its CSRF token on unsafe methods).
 */
export function makeGuards(options: GuardOptions): {
  requireKey: Guard;
  requireAdmin: Guard;
  allowAnonymous: Guard;
} {
  const identify = async (request: FastifyRequest): Promise<Principal | undefined> => {
    const header = request.headers.authorization;
    if (header === undefined) return options.sessions?.identify(request);
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null)
      throw new AppError('unauthorized', 'Authorization must be "Bearer <api key>".');
    const principal = await options.keys.authenticate(match[1]!);
    if (principal === undefined)
      throw new AppError('unauthorized', 'The API key is unknown or revoked.');
    return principal;
  };
  const requireKey: Guard = async (request) => {
    const principal = await identify(request);
    if (principal === undefined)
      throw new AppError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".');
    request.principal = principal;
  };
  return {
    requireKey,
    async requireAdmin(request, reply) {
      await requireKey(request, reply);
      if (request.principal?.role !== 'admin')
        throw new AppError('forbidden', 'This needs an admin key.');
    },
    async allowAnonymous(request) {
      const principal = await identify(request);
      if (principal !== undefined) {
        request.principal = principal;
        return;
      }
      if (!options.allowAnonymous) {
        throw new AppError('unauthorized', 'Anonymous link creation is disabled: send an API key.');
      }
      request.principal = {
        workspaceId: options.defaultWorkspaceId,
        keyId: null,
        role: 'anonymous',
      };
    },
  };
}

export interface RateLimitGuardOptions {
  readonly limiter: RateLimiter;
  readonly enabled: boolean;
  readonly anonymousMax: number;
  readonly keyMax: number;
  readonly onLimited?: () => void;
}

/**
 * Counts a request against its API key, or its client IP when anonymous, and sets the
 * `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers); 429 with `Retry-After` past it.
 * Runs after authentication.
 */
export function makeRateLimitGuard(options: RateLimitGuardOptions): Guard {
  return async (request, reply) => {
    if (!options.enabled) return;
    const keyId = request.principal?.keyId ?? null;
    const [key, limit] =
      keyId !== null
        ? [`key:${keyId}`, options.keyMax]
        : [`ip:${request.ip}`, options.anonymousMax];
    const d = await options.limiter.consume(key, limit);
    reply.header('ratelimit-limit', d.limit);
    reply.header('ratelimit-remaining', d.remaining);
    reply.header('ratelimit-reset', d.resetSeconds);
    if (!d.allowed) {
      options.onLimited?.();
      reply.header('retry-after', d.resetSeconds);
      throw new AppError('rate_limited', `Too many requests: try again in ${d.resetSeconds} s.`);
    }
  };
}
