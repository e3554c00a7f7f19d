import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../errors.js';
import { Problem } from '../links/schemas.js';
import type { ApiKeyRecord, ApiKeyService } from './api-keys.js';
import type { Guard } from './guards.js';

const KeySchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  prefix: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

const view = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** `/api/v1/keys`: admins of a workspace create (shown once), list and revoke its keys. */
export const keyRoutes: FastifyPluginAsyncTypebox<{
  keys: ApiKeyService;
  requireAdmin: Guard;
}> = async (app, opts) => {
  const { keys, requireAdmin } = opts;
  const ws = (req: { principal?: { workspaceId: number } }) => {
    if (req.principal === undefined) throw new AppError('unauthorized');
    return req.principal.workspaceId;
  };

  app.get(
    '/api/v1/keys',
    {
      onRequest: requireAdmin,
      schema: {
        tags: ['keys'],
        summary: 'List API keys',
        response: { 200: Type.Object({ items: Type.Array(KeySchema) }), ...errors },
      },
    },
    async (req) => ({ items: (await keys.list(ws(req))).map(view) }),
  );

  app.post(
    '/api/v1/keys',
    {
      onRequest: requireAdmin,
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the secret is in this response only',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('member')])),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: Type.String(), record: KeySchema }), ...errors },
      },
    },
    async (req, reply) => {
      const { key, record } = await keys.create(ws(req), req.body.name, req.body.role ?? 'member');
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ key, record: view(record) });
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      onRequest: requireAdmin,
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key',
        params: Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await keys.revoke(ws(req), Number(req.params.id));
      return reply.code(204).send(null);
    },
  );
};
