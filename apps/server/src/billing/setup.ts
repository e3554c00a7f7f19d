import type { Config } from '../config.js';
import type { Database } from '../infra/db/database.js';
import { linksDatabaseBilling, postgresBilling, type BillingPort } from './billing-port.js';
import type { CreditLedger } from './ledger.js';
import {
  claimStrategyFor,
  PremiumAliasGate,
  type TwoPhaseClaimsOptions,
} from './premium-aliases.js';

export interface BillingRuntime {
  readonly port: BillingPort;
  readonly ledger: CreditLedger;
  /** The premium-alias gate, when premium aliases are on. */
  readonly gate: PremiumAliasGate | undefined;
  close(): Promise<void>;
}

export interface BillingSetupOptions {
  readonly config: Config;
  /** The links database. */
  readonly db: Database;
  /** Replaces the billing adapter chosen from the config (e.g. a non-preparing one). */
  readonly port?: BillingPort;
  /** Traces the two-phase protocol of premium claims (see @linkforge/txn `onStep`). */
  readonly onTwoPhaseStep?: TwoPhaseClaimsOptions['onStep'];
}

/**
 * Opens the credit ledger (in the links database, or in `BILLING_DATABASE_URL`) and the
 * premium-alias gate with the strongest claim strategy the two databases allow: one local
 * transaction, two-phase commit, or a saga. Starting also recovers claims a crashed process
 * left in doubt.
 */
export async function startBilling(options: BillingSetupOptions): Promise<BillingRuntime> {
  const { config, db } = options;
  const billing = config.billing;
  const port =
    options.port ??
    (billing.databaseUrl === undefined
      ? await linksDatabaseBilling(db)
      : await postgresBilling(billing.databaseUrl, config.databasePoolMax));
  try {
    const premium = billing.premiumAliasMaxLength > 0 && billing.premiumAliasCost > 0;
    const strategy = premium
      ? await claimStrategyFor(
          port,
          { db, url: config.databaseUrl },
          {
            logUrl: billing.coordinatorDatabaseUrl,
            poolMax: config.databasePoolMax,
            ...(options.onTwoPhaseStep !== undefined ? { onStep: options.onTwoPhaseStep } : {}),
          },
        )
      : undefined;
    const gate =
      strategy === undefined
        ? undefined
        : new PremiumAliasGate(
            { maxLength: billing.premiumAliasMaxLength, cost: billing.premiumAliasCost },
            port.ledger,
            strategy,
          );
    return {
      port,
      ledger: port.ledger,
      gate,
      async close() {
        try {
          await strategy?.close();
        } finally {
          await port.close();
        }
      },
    };
  } catch (err) {
    await port.close().catch(() => undefined);
    throw err;
  }
}
