import {
  CommitPendingError,
  defineSaga,
  NonRetryableError,
  SagaOrchestrator,
  TwoPhaseCoordinator,
  TxnError,
  TxnOutcomeUnknownError,
  type Connection,
  type TwoPhaseStep,
} from '@linkforge/txn';
import { AppError, isAppError } from '../errors.js';
import type { Database, Queryable } from '../infra/db/database.js';
import type { Link } from '../links/link.js';
import type { AliasGate } from '../links/link-service.js';
import { findByCode } from '../links/link-repo.js';
import { executorOf, queryableOf, type BillingPort } from './billing-port.js';
import type { CreditLedger, DebitInput } from './ledger.js';

export interface PremiumPricing {
  /** Aliases of at most this many characters are premium (0: none). */
  readonly maxLength: number;
  /** Credits one premium alias costs. */
  readonly cost: number;
}

type Claim = Parameters<AliasGate['claim']>[0];
type Insert = Parameters<AliasGate['claim']>[1];

/** How one premium claim is made atomic across the links and billing databases. */
export interface ClaimStrategy {
  readonly kind: 'local' | 'two-phase' | 'saga';
  claim(claim: Claim, debit: DebitInput, insert: Insert): Promise<Link[]>;
  close(): Promise<void>;
}

/** The idempotency key of the debit that pays for one link. */
export const claimKey = (linkId: number) => `premium-alias:${linkId}`;

/**
 * The {@link AliasGate} of premium aliases: short aliases cost credits, debited from the
 * workspace's ledger atomically with the link insert by a {@link ClaimStrategy}.
 */
export class PremiumAliasGate implements AliasGate {
  constructor(
    private readonly pricing: PremiumPricing,
    private readonly ledger: CreditLedger,
    readonly strategy: ClaimStrategy,
  ) {}

  covers(alias: string): boolean {
    return this.pricing.cost > 0 && alias.length <= this.pricing.maxLength;
  }

  async claim(claim: Claim, insert: Insert): Promise<Link[]> {
    // Refuse a workspace that cannot pay before opening anything; the ledger checks again
    // under its lock.
    const { balance } = await this.ledger.balance(claim.workspaceId);
    if (balance < this.pricing.cost) throw paymentRequired(claim.alias, balance, this.pricing.cost);
    try {
      return await this.strategy.claim(
        claim,
        {
          workspaceId: claim.workspaceId,
          amount: this.pricing.cost,
          key: claimKey(claim.linkId),
          reference: { kind: 'premium-alias', alias: claim.alias, linkId: claim.linkId },
        },
        insert,
      );
    } catch (err) {
      if (isAppError(err) && err.code === 'payment_required') {
        const extra = err.extra as { balance?: number } | undefined;
        throw paymentRequired(claim.alias, extra?.balance ?? 0, this.pricing.cost);
      }
      throw err;
    }
  }
}

function paymentRequired(alias: string, balance: number, cost: number): AppError {
  return new AppError(
    'payment_required',
    `The alias "${alias}" is premium and costs ${cost} credit${cost === 1 ? '' : 's'}; ` +
      `this workspace has ${balance}. Nothing was created.`,
    { extra: { balance, required: cost } },
  );
}

/** Ledger in the links database: the insert and the debit are one local transaction. */
export function localClaims(db: Database, ledger: CreditLedger): ClaimStrategy {
  return {
    kind: 'local',
    claim: (_claim, debit, insert) =>
      db.transaction(async (tx) => {
        const links = await insert(tx);
        if (links.length > 0) await ledger.debitIn(executorOf(tx), debit);
        return links;
      }),
    close: async () => {},
  };
}

/** Thrown inside a 2PC run to roll both sides back when the alias was taken. */
class AliasTaken extends Error {}

export interface TwoPhaseClaimsOptions {
  /** The links database (participant `links`). */
  readonly links: Connection;
  /** The billing database (participant `billing`). */
  readonly billing: Connection;
  /** Where the coordinator's decision log lives (the links database by default). */
  readonly log: Connection;
  readonly ledger: CreditLedger;
  /** GID prefix; recovery touches only prepared transactions with it. */
  readonly gidPrefix?: string;
  /** Tracing / crash testing (see @linkforge/txn). */
  readonly onStep?: (step: TwoPhaseStep) => void | Promise<void>;
  readonly onRecovery?: (report: unknown) => void;
}

/** GID prefix of premium-alias claims. */
export const GID_PREFIX = 'linkforge-billing';

/**
 * Links and billing on two PostgreSQL databases that can prepare: the insert and the debit
 * commit together by two-phase commit. `start()` recovers claims a crashed process left in
 * doubt (a logged commit decision is committed, anything else rolled back).
 */
export async function twoPhaseClaims(options: TwoPhaseClaimsOptions): Promise<ClaimStrategy> {
  const coordinator = new TwoPhaseCoordinator<'links' | 'billing'>({
    log: options.log,
    participants: [
      { name: 'links', connection: options.links },
      { name: 'billing', connection: options.billing },
    ],
    gidPrefix: options.gidPrefix ?? GID_PREFIX,
    ...(options.onStep !== undefined ? { onStep: options.onStep } : {}),
    ...(options.onRecovery !== undefined ? { onRecovery: options.onRecovery } : {}),
  });
  await coordinator.start();
  const { ledger } = options;
  return {
    kind: 'two-phase',
    async claim(_claim, debit, insert) {
      let created: Link[] = [];
      try {
        return await coordinator.run(async ({ links, billing }) => {
          created = await insert(queryableOf(links));
          if (created.length === 0) throw new AliasTaken();
          await ledger.debitIn(billing, debit);
          return created;
        });
      } catch (err) {
        if (err instanceof AliasTaken) return [];
        // Decided commit with a participant unreachable in phase two: the link is created and
        // paid; recovery finishes the commit.
        if (err instanceof CommitPendingError) return created;
        if (err instanceof TxnOutcomeUnknownError) {
          throw new AppError(
            'unavailable',
            'The claim may or may not have been committed; recovery settles it (link and payment together). Check the link before retrying.',
            { cause: err },
          );
        }
        if (err instanceof TxnError) {
          throw new AppError(
            'unavailable',
            'The claim could not be committed; nothing was charged.',
            {
              cause: err,
            },
          );
        }
        throw err;
      }
    },
    close: () => coordinator.close(),
  };
}

interface SagaInput {
  readonly debit: DebitInput;
  readonly alias: string;
  readonly linkId: number;
}

export interface SagaClaimsOptions {
  /** The links database, where the alias is reserved. */
  readonly links: Database;
  /** PostgreSQL database of the saga log. */
  readonly log: Connection;
  readonly ledger: CreditLedger;
}

/**
 * Billing that cannot prepare: a saga — debit the ledger (idempotent by the claim's key),
 * reserve the alias in the links database, and refund the debit when the reservation fails.
 * The saga log makes each step at-least-once and resumable: `start()` resumes claims a
 * crashed process left; one whose insert cannot be redone there is refunded unless its link
 * is already committed.
 */
export async function sagaClaims(options: SagaClaimsOptions): Promise<ClaimStrategy> {
  const { ledger, links } = options;
  // The insert callbacks of claims running in this process, by saga id.
  const inserts = new Map<string, { insert: Insert; created?: Link[] }>();
  const saga = defineSaga<SagaInput>({
    name: 'premium-alias-claim',
    steps: [
      {
        name: 'debit',
        run: async ({ input }) => {
          try {
            const { balance } = await ledger.debit(input.debit);
            return { balance };
          } catch (err) {
            if (isAppError(err) && err.code === 'payment_required') {
              throw new NonRetryableError(err.message, { code: 'payment_required', cause: err });
            }
            throw err;
          }
        },
        compensate: async ({ input }) => {
          await ledger.refund(input.debit.key);
        },
      },
      {
        name: 'reserve',
        run: async ({ sagaId, input }) => {
          const own = await reservedBy(links, input);
          if (own !== undefined) {
            const entry = inserts.get(sagaId);
            if (entry !== undefined) entry.created = [own];
            return { linkId: own.id };
          }
          const entry = inserts.get(sagaId);
          if (entry === undefined) {
            // Resumed in another process: the request that started it is gone.
            throw new NonRetryableError('The claim was abandoned before its link was created.', {
              code: 'claim_abandoned',
            });
          }
          const created = await links.transaction(entry.insert);
          if (created.length === 0) {
            throw new NonRetryableError(`The alias "${input.alias}" is already taken.`, {
              code: 'alias_taken',
            });
          }
          entry.created = created;
          return { linkId: created[0]!.id };
        },
      },
    ],
  });
  const orchestrator = new SagaOrchestrator({
    connection: options.log,
    sagas: [saga],
    tablePrefix: 'billing_saga',
  });
  await orchestrator.start();
  await orchestrator.resumeAll();
  return {
    kind: 'saga',
    async claim({ alias, linkId }, debit, insert) {
      const sagaId = debit.key;
      const entry: { insert: Insert; created?: Link[] } = { insert };
      inserts.set(sagaId, entry);
      try {
        const outcome = await orchestrator.execute(saga, { debit, alias, linkId }, { sagaId });
        if (outcome.status === 'completed') return entry.created ?? [];
        if (outcome.status === 'compensated') {
          if (outcome.failure?.code === 'payment_required') {
            const cause = (outcome.error as { cause?: unknown } | undefined)?.cause;
            if (isAppError(cause)) throw cause;
            throw new AppError('payment_required', outcome.failure.message);
          }
          if (outcome.failure?.code === 'alias_taken') return [];
          throw new AppError('unavailable', 'The claim failed and its payment was refunded.', {
            cause: outcome.error,
          });
        }
        throw new AppError(
          'internal',
          'The claim failed and its payment could not be refunded yet; it is left for an operator.',
        );
      } finally {
        inserts.delete(sagaId);
      }
    },
    close: () => orchestrator.close(),
  };
}

/** The link this claim inserted, when an earlier attempt already committed it. */
async function reservedBy(links: Queryable, input: SagaInput): Promise<Link | undefined> {
  const link = await findByCode(links, input.alias);
  return link !== undefined && link.id === input.linkId ? link : undefined;
}

/** Chooses the strategy the billing port allows. */
export async function claimStrategyFor(
  port: BillingPort,
  links: { readonly db: Database; readonly url: string | undefined },
  options: {
    readonly logUrl?: string | undefined;
    readonly poolMax: number;
    readonly onStep?: TwoPhaseClaimsOptions['onStep'];
  },
): Promise<ClaimStrategy> {
  if (port.sharesLinksDatabase) return localClaims(links.db, port.ledger);
  const pool = (url: string) => ({ connectionString: url, max: options.poolMax });
  if (port.twoPhase !== undefined && links.url !== undefined) {
    return twoPhaseClaims({
      links: { ...pool(links.url), types: port.twoPhase.connection.types },
      billing: port.twoPhase.connection,
      log: pool(options.logUrl ?? links.url),
      ledger: port.ledger,
      ...(options.onStep !== undefined ? { onStep: options.onStep } : {}),
    });
  }
  const logUrl = options.logUrl ?? links.url;
  if (logUrl === undefined) {
    throw new AppError(
      'unavailable',
      'Premium aliases with this billing adapter need a PostgreSQL database for the saga log.',
    );
  }
  return sagaClaims({ links: links.db, log: pool(logUrl), ledger: port.ledger });
}
