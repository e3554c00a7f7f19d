import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  deliveryHeaders,
  ObjectStoreError,
  type LocalDiskObjectStore,
} from '@linkforge/objectstore';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Guard } from '../auth/guards.js';
import { AppError, type ErrorCode } from '../errors.js';
import { sendProblem } from '../http/problem.js';
import { Problem } from '../links/schemas.js';
import { LOCAL_OBJECTS_PATH } from './object-store.js';
import { toUploadView, UPLOAD_ID } from './upload.js';
import type { PendingUpload, UploadService } from './upload-service.js';

export interface UploadRoutesOptions {
  readonly uploads: UploadService;
  readonly publicBaseUrl: string;
  readonly guards: { requireKey: Guard; rateLimit: Guard };
}

const IdParams = Type.Object({ id: Type.String({ pattern: UPLOAD_ID.source }) });
const errors = {
  400: Problem,
  401: Problem,
  404: Problem,
  409: Problem,
  410: Problem,
  413: Problem,
  415: Problem,
  422: Problem,
  429: Problem,
};
const UploadSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  fileName: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
  multipart: Type.Boolean(),
  url: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
});
const Headers = Type.Record(Type.String(), Type.String());
const PartSchema = Type.Object({
  partNumber: Type.Integer(),
  size: Type.Integer(),
  url: Type.String(),
  headers: Headers,
});
const PendingSchema = Type.Object({
  ...UploadSchema.properties,
  uploadUrl: Type.Optional(Type.String()),
  method: Type.String(),
  headers: Type.Optional(Headers),
  expiresAt: Type.String(),
  partSize: Type.Optional(Type.Integer()),
  partCount: Type.Optional(Type.Integer()),
  parts: Type.Optional(Type.Array(PartSchema)),
});

/**
 * Uploads API: `POST /api/v1/uploads` (a signed URL), `POST /api/v1/uploads/{id}/parts`
 * (fresh part URLs), `POST /api/v1/uploads/{id}/complete` (verify and record),
 * `GET /api/v1/uploads/{id}`; and `GET /files/{id}/{name}`, where completed uploads are served.
 */
export const uploadRoutes: FastifyPluginAsyncTypebox<UploadRoutesOptions> = async (app, opts) => {
  const { uploads, publicBaseUrl, guards } = opts;
  const principal = (req: { principal?: { workspaceId: number } }) => {
    if (req.principal === undefined) throw new AppError('unauthorized');
    return req.principal;
  };
  const pendingView = (p: PendingUpload) => {
    const base = { ...toUploadView(p.upload, publicBaseUrl), expiresAt: p.expiresAt.toISOString() };
    return p.kind === 'single'
      ? { ...base, uploadUrl: p.url, method: p.method, headers: { ...p.headers } }
      : {
          ...base,
          method: 'PUT',
          partSize: p.partSize,
          partCount: p.partCount,
          parts: p.parts.map((part) => ({ ...part, headers: { ...part.headers } })),
        };
  };

  app.post(
    '/api/v1/uploads',
    {
      onRequest: [guards.requireKey, guards.rateLimit],
      schema: {
        tags: ['uploads'],
        summary: 'Start an upload: a signed URL the client sends the bytes to (≤ 5 min)',
        body: Type.Object(
          {
            fileName: Type.String({ minLength: 1, maxLength: 1024 }),
            contentType: Type.String({ minLength: 3, maxLength: 255 }),
            size: Type.Integer({ minimum: 1 }),
            multipart: Type.Optional(Type.Boolean()),
            partSize: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: PendingSchema, ...errors },
      },
    },
    async (req, reply) => {
      const pending = await uploads.create(principal(req).workspaceId, req.body);
      return reply
        .code(201)
        .header('location', `/api/v1/uploads/${pending.upload.id}`)
        .header('cache-control', 'no-store')
        .send(pendingView(pending));
    },
  );

  app.get(
    '/api/v1/uploads/:id',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['uploads'],
        summary: 'An upload and its state',
        params: IdParams,
        response: { 200: UploadSchema, ...errors },
      },
    },
    async (req) =>
      toUploadView(await uploads.get(principal(req).workspaceId, req.params.id), publicBaseUrl),
  );

  app.post(
    '/api/v1/uploads/:id/parts',
    {
      onRequest: [guards.requireKey, guards.rateLimit],
      schema: {
        tags: ['uploads'],
        summary: 'Fresh signed URLs for parts of a multipart upload (at most 100 per call)',
        params: IdParams,
        body: Type.Object(
          {
            partNumbers: Type.Array(Type.Integer({ minimum: 1, maximum: 10_000 }), {
              minItems: 1,
              maxItems: 100,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ parts: Type.Array(PartSchema) }), ...errors },
      },
    },
    async (req) => {
      const parts = await uploads.signParts(
        principal(req).workspaceId,
        req.params.id,
        req.body.partNumbers,
      );
      return { parts: parts.map((p) => ({ ...p, headers: { ...p.headers } })) };
    },
  );

  app.post(
    '/api/v1/uploads/:id/complete',
    {
      onRequest: [guards.requireKey, guards.rateLimit],
      schema: {
        tags: ['uploads'],
        summary: 'Verify the uploaded object (size, type, magic bytes) and record it',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            {
              parts: Type.Optional(
                Type.Array(
                  Type.Object(
                    {
                      partNumber: Type.Integer({ minimum: 1, maximum: 10_000 }),
                      etag: Type.String({ minLength: 1, maxLength: 200 }),
                    },
                    { additionalProperties: false },
                  ),
                  { minItems: 1, maxItems: 10_000 },
                ),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        response: { 200: UploadSchema, ...errors },
      },
    },
    async (req) => {
      const upload = await uploads.complete(
        principal(req).workspaceId,
        req.params.id,
        req.body?.parts,
      );
      return toUploadView(upload, publicBaseUrl);
    },
  );

  const serveFile = async (
    req: { params: { id: string }; headers: Record<string, string | string[] | undefined> },
    reply: FastifyReply,
    head: boolean,
  ) => {
    const upload = UPLOAD_ID.test(req.params.id)
      ? await uploads.findServable(req.params.id)
      : undefined;
    if (upload === undefined) throw new AppError('not_found', 'No such file.');
    // An upload's bytes never change (uploads never overwrite), so the id is a strong validator.
    const etag = `"${upload.id}"`;
    reply
      .header('etag', etag)
      .header('cache-control', 'public, max-age=86400')
      .header('cross-origin-resource-policy', 'cross-origin');
    const headers = deliveryHeaders({
      contentType: upload.contentType,
      size: upload.size,
      fileName: upload.fileName,
    });
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    if (head) return reply.headers(headers).send();
    try {
      const { body } = await uploads.store.getObject(upload.objectKey);
      return await reply.headers(headers).send(body);
    } catch (err) {
      // A recorded upload whose object is gone (removed from the bucket by hand): a plain 404.
      if (err instanceof ObjectStoreError && err.code === 'NOT_FOUND') {
        throw new AppError('not_found', 'No such file.', { cause: err });
      }
      throw err;
    }
  };
  for (const url of ['/files/:id', '/files/:id/:name']) {
    app.get(url, { schema: { hide: true }, exposeHeadRoute: false }, (req, reply) =>
      serveFile(req as never, reply, false),
    );
    app.head(url, { schema: { hide: true } }, (req, reply) => serveFile(req as never, reply, true));
  }
};

const STORE_CODES: Partial<Record<string, ErrorCode>> = {
  SIGNATURE_INVALID: 'forbidden',
  EXPIRED: 'forbidden',
  CONTENT_TYPE_MISMATCH: 'unsupported_media_type',
  TOO_LARGE: 'payload_too_large',
  NOT_FOUND: 'not_found',
  UPLOAD_NOT_FOUND: 'not_found',
  KEY_CONFLICT: 'upload_conflict',
};

/**
 * Mounts the local store's signed endpoints (embedded default). The request body is passed
 * through as the raw stream: no parser reads it, the store cuts it at the signed size.
 */
export async function localObjectRoutes(
  app: FastifyInstance,
  opts: { store: LocalDiskObjectStore },
): Promise<void> {
  const { store } = opts;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.put(LOCAL_OBJECTS_PATH, { schema: { hide: true } }, async (req, reply) => {
    try {
      const r = await store.handleSignedPut({
        query: req.query as Record<string, string>,
        headers: req.headers,
        body: req.raw,
      });
      return await reply
        .code(r.status)
        .headers(r.headers)
        .header('access-control-expose-headers', 'ETag')
        .send();
    } catch (err) {
      if (!(err instanceof ObjectStoreError)) throw err;
      // The unread rest of the body is not drained: the connection cannot be reused.
      reply.header('connection', 'close');
      const code = STORE_CODES[err.code] ?? 'validation_failed';
      return sendProblem(
        reply,
        new AppError(code, `The upload was refused: ${err.message}.`, {
          extra: { reason: err.code },
        }),
      );
    }
  });
  app.get(LOCAL_OBJECTS_PATH, { schema: { hide: true } }, async (req, reply) => {
    try {
      const r = await store.handleSignedGet({ query: req.query as Record<string, string> });
      return await reply.code(r.status).headers(r.headers).send(r.body);
    } catch (err) {
      if (!(err instanceof ObjectStoreError)) throw err;
      const code = STORE_CODES[err.code] ?? 'validation_failed';
      return sendProblem(reply, new AppError(code, err.message, { extra: { reason: err.code } }));
    }
  });
}
