import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guard } from '../auth/guards.js';
import { AppError } from '../errors.js';
import { Problem } from '../links/schemas.js';
import { MAX_DEPOSIT, type Balance, type CreditLedger } from './ledger.js';

export interface BillingRoutesOptions {
  readonly ledger: CreditLedger;
  readonly guards: { requireKey: Guard; requireAdmin: Guard };
  /** What premium aliases cost, shown with the balance. */
  readonly premium: { readonly maxLength: number; readonly cost: number };
}

const BalanceSchema = Type.Object({
  workspaceId: Type.Integer(),
  balance: Type.Integer(),
  version: Type.Integer(),
  premiumAlias: Type.Object({ maxLength: Type.Integer(), cost: Type.Integer() }),
});

const EntrySchema = Type.Object({
  version: Type.Integer(),
  type: Type.String(),
  amount: Type.Integer(),
  delta: Type.Integer(),
  key: Type.String(),
  reference: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
  debitKey: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  at: Type.String(),
});

const LedgerQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({
        pattern: '^(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|200)$',
        description: '1–200, default 50',
      }),
    ),
    before: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,14}$',
        description: 'ledger version: entries older than it (from `nextBefore`)',
      }),
    ),
  },
  { additionalProperties: false },
);

const errors = { 400: Problem, 401: Problem, 403: Problem };

/**
 * `/api/v1/billing`: a workspace's credit balance and ledger (any key of the workspace), and
 * credit top-ups (admin keys).
 */
export const billingRoutes: FastifyPluginAsyncTypebox<BillingRoutesOptions> = async (app, opts) => {
  const { ledger, guards, premium } = opts;
  const ws = (req: { principal?: { workspaceId: number } }) => {
    if (req.principal === undefined) throw new AppError('unauthorized');
    return req.principal.workspaceId;
  };
  const view = (b: Balance) => ({ ...b, premiumAlias: premium });

  app.get(
    '/api/v1/billing/balance',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['billing'],
        summary: "The workspace's credit balance",
        response: { 200: BalanceSchema, ...errors },
      },
    },
    async (req) => view(await ledger.balance(ws(req))),
  );

  app.get(
    '/api/v1/billing/ledger',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['billing'],
        summary: "The workspace's credit ledger, newest first",
        querystring: LedgerQuery,
        response: {
          200: Type.Object({
            items: Type.Array(EntrySchema),
            nextBefore: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const page = await ledger.history(ws(req), {
        limit: Number(req.query.limit ?? 50),
        before: req.query.before === undefined ? undefined : Number(req.query.before),
      });
      return { items: [...page.items], nextBefore: page.nextBefore };
    },
  );

  app.post(
    '/api/v1/billing/credits',
    {
      onRequest: guards.requireAdmin,
      schema: {
        tags: ['billing'],
        summary: 'Add credits to the workspace (admin key)',
        body: Type.Object(
          {
            amount: Type.Integer({ minimum: 1, maximum: MAX_DEPOSIT }),
            note: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: BalanceSchema, ...errors },
      },
    },
    async (req, reply) => {
      const balance = await ledger.deposit(
        ws(req),
        req.body.amount,
        req.body.note === undefined ? {} : { note: req.body.note },
      );
      return reply.code(201).send(view(balance));
    },
  );
};
