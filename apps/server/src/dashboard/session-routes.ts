import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guard } from '../auth/guards.js';
import { AppError } from '../errors.js';
import { Problem } from '../links/schemas.js';
import {
  clearSessionCookie,
  sameOrigin,
  sessionIdentifier,
  sessionToken,
  setSessionCookie,
} from './session-auth.js';
import { csrfTokenFor, type SessionInfo, type SessionStore } from './session-store.js';

const SessionSchema = Type.Object({
  keyId: Type.Integer(),
  keyName: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
  expiresAt: Type.String(),
  csrfToken: Type.String({ description: 'send as X-CSRF-Token on every POST/PATCH/DELETE' }),
  shortBase: Type.String({ description: 'base of short URLs (PUBLIC_BASE_URL)' }),
});

const view = (info: SessionInfo, csrfToken: string, shortBase: string) => ({
  keyId: info.keyId,
  keyName: info.keyName,
  role: info.role,
  expiresAt: info.expiresAt.toISOString(),
  csrfToken,
  shortBase,
});

const errors = { 400: Problem, 401: Problem, 403: Problem, 429: Problem };

/**
 * `/api/v1/session`: the dashboard signs in with an API key and then works with an HttpOnly
 * session cookie plus a CSRF token, so the key never stays in the page.
 */
export const sessionRoutes: FastifyPluginAsyncTypebox<{
  sessions: SessionStore;
  ttlSeconds: number;
  publicBaseUrl: string;
  rateLimit: Guard;
}> = async (app, opts) => {
  const { sessions, ttlSeconds, publicBaseUrl, rateLimit } = opts;
  const identifier = sessionIdentifier(sessions, publicBaseUrl);

  app.post(
    '/api/v1/session',
    {
      onRequest: rateLimit,
      schema: {
        tags: ['session'],
        summary: 'Sign in to the dashboard with an API key; sets the session cookie',
        security: [],
        body: Type.Object(
          { key: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 201: SessionSchema, ...errors },
      },
    },
    async (req, reply) => {
      if (!sameOrigin(req, publicBaseUrl)) {
        throw new AppError('csrf_failed', 'Sign-in is only accepted from this origin.');
      }
      const previous = sessionToken(req);
      if (previous !== undefined) await sessions.close(previous);
      const opened = await sessions.open(req.body.key.trim());
      setSessionCookie(req, reply, opened.token, ttlSeconds);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send(view(opened.info, opened.csrfToken, publicBaseUrl));
    },
  );

  app.get(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'The current dashboard session and its CSRF token',
        security: [],
        response: { 200: SessionSchema, ...errors },
      },
    },
    async (req, reply) => {
      const token = sessionToken(req);
      const info = token === undefined ? undefined : await sessions.info(token);
      if (token === undefined || info === undefined) {
        throw new AppError('unauthorized', 'Not signed in, or the session has ended.');
      }
      return reply
        .header('cache-control', 'no-store')
        .send(view(info, csrfTokenFor(token), publicBaseUrl));
    },
  );

  app.delete(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Sign out: ends the session and clears its cookie',
        security: [],
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      const token = sessionToken(req);
      // Signing a live session out takes its CSRF token too: no other site may end it.
      if (token !== undefined && (await identifier.identify(req)) !== undefined) {
        await sessions.close(token);
      }
      clearSessionCookie(req, reply);
      return reply.code(204).send(null);
    },
  );
};
