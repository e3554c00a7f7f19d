import { Type } from '@fastify/type-provider-typebox';
import { ALIAS_PATTERN, MAX_URL_LENGTH } from './validate.js';

// JSON schemas of the links API. They reject unknown fields and wrong types before any code
// runs; the semantic rules (URL policy, reserved aliases, future expiry) live in validate.ts.

export const RedirectTypeSchema = Type.Union(
  [Type.Literal(301), Type.Literal(302), Type.Literal(307), Type.Literal(308)],
  {
    description: 'HTTP status of the redirect',
  },
);

const Url = Type.String({
  minLength: 1,
  maxLength: MAX_URL_LENGTH * 2,
  description: 'http(s) destination',
});
const Expiry = Type.String({ format: 'date-time', description: 'ISO 8601 instant, in the future' });
const Tags = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 });
const UploadId = Type.String({
  pattern: '^[A-Za-z0-9_-]{22}$',
  description: 'id of a completed upload',
});
// Preview overrides (docs/uploads.md); null clears one. The title override is `title`.
const MediaFields = {
  imageUploadId: Type.Optional(Type.Union([UploadId, Type.Null()])),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  image: Type.Optional(
    Type.Union([
      Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) image URL' }),
      Type.Null(),
    ]),
  ),
};

export const CreateLinkBody = Type.Object(
  {
    url: Type.Optional(Url),
    uploadId: Type.Optional(UploadId),
    ...MediaFields,
    alias: Type.Optional(
      Type.String({ pattern: ALIAS_PATTERN.source, description: '3–64 of A-Z a-z 0-9 - _' }),
    ),
    expiresAt: Type.Optional(Type.Union([Expiry, Type.Null()])),
    maxClicks: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    redirectType: Type.Optional(RedirectTypeSchema),
    title: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);

export const UpdateLinkBody = Type.Object(
  {
    url: Type.Optional(Url),
    ...MediaFields,
    expiresAt: Type.Optional(Type.Union([Expiry, Type.Null()])),
    maxClicks: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    redirectType: Type.Optional(RedirectTypeSchema),
    title: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ShortenBody = Type.Object(
  {
    longUrl: Url,
    expiresAt: Type.Optional(Type.Union([Expiry, Type.Null()])),
  },
  { additionalProperties: false },
);

export const BulkBody = Type.Object(
  { links: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const LinkSchema = Type.Object({
  code: Type.String(),
  shortUrl: Type.String(),
  url: Type.String(),
  alias: Type.Boolean(),
  title: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  redirectType: RedirectTypeSchema,
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  maxClicks: Type.Union([Type.Integer(), Type.Null()]),
  clicks: Type.Integer(),
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('expired'),
    Type.Literal('exhausted'),
    Type.Literal('deleted'),
  ]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  // Present when the previews feature runs (docs/uploads.md).
  description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  image: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  preview: Type.Optional(
    Type.Object({
      status: Type.String(),
      title: Type.Union([Type.String(), Type.Null()]),
      description: Type.Union([Type.String(), Type.Null()]),
      image: Type.Union([Type.String(), Type.Null()]),
      siteName: Type.Union([Type.String(), Type.Null()]),
      fetchedAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  file: Type.Optional(
    Type.Union([
      Type.Object({
        uploadId: Type.String(),
        fileName: Type.String(),
        contentType: Type.String(),
        size: Type.Integer(),
        url: Type.String(),
      }),
      Type.Null(),
    ]),
  ),
});

export const CodeParams = Type.Object({ code: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({
        pattern: '^(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|200)$',
        description: '1–200, default 50',
      }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'search in code, URL and title' }),
    ),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('expired')])),
  },
  { additionalProperties: false },
);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.String(),
  },
  { additionalProperties: true },
);
