/**
 * Every error this package throws on purpose is a {@link TxnError} with a stable `code`, so
 * callers can branch on `err.code` instead of parsing messages.
 */
export class TxnError extends Error {
  /** Stable, documented identifier of the failure (see the README's error table). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options or arguments that cannot be used; nothing was changed. */
export class TxnConfigError extends TxnError {
  constructor(message: string) {
    super('TXN_CONFIG', message);
  }
}

/** The coordinator or orchestrator was used before `start()` or after `close()`. */
export class TxnNotStartedError extends TxnError {
  constructor(what: string) {
    super(
      'TXN_NOT_STARTED',
      `${what} is not running: call start() first and do not use it after close()`,
    );
  }
}

/** A database the coordinator needs could not be reached when it started. */
export class DatabaseUnreachableError extends TxnError {
  /** `log` or the participant's name. */
  readonly database: string;

  constructor(database: string, cause: unknown) {
    super(
      'TXN_DATABASE_UNREACHABLE',
      `${database === 'log' ? 'the log database' : `participant "${database}"`} is unreachable: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.database = database;
  }
}

/** A participant's server has `max_prepared_transactions = 0`, so it cannot take part in 2PC. */
export class PreparedTransactionsDisabledError extends TxnError {
  readonly participant: string;

  constructor(participant: string) {
    super(
      'TXN_PREPARED_DISABLED',
      `participant "${participant}": max_prepared_transactions is 0 on its server; ` +
        'set it above 0 (postgresql.conf or ALTER SYSTEM) and restart PostgreSQL',
    );
    this.participant = participant;
  }
}

/**
 * A participant voted "no" in phase one (its transaction had failed, or PREPARE raised an
 * error). The coordinator decided abort and rolled every participant back.
 */
export class PrepareFailedError extends TxnError {
  readonly participant: string;
  readonly txid: string;

  constructor(txid: string, participant: string, reason: string, cause?: unknown) {
    super(
      'TXN_PREPARE_FAILED',
      `transaction ${txid}: participant "${participant}" could not prepare (${reason}); rolled back everywhere`,
      { cause },
    );
    this.participant = participant;
    this.txid = txid;
  }
}

/**
 * A participant did not answer PREPARE within `prepareTimeoutMs`. The coordinator decided
 * abort, terminated the slow session and rolled every participant back.
 */
export class PrepareTimeoutError extends TxnError {
  readonly participant: string;
  readonly txid: string;

  constructor(txid: string, participant: string, timeoutMs: number) {
    super(
      'TXN_PREPARE_TIMEOUT',
      `transaction ${txid}: participant "${participant}" did not prepare within ${timeoutMs} ms; rolled back everywhere`,
    );
    this.participant = participant;
    this.txid = txid;
  }
}

/**
 * Commit was decided and logged, but phase two could not reach every participant. The
 * outcome IS commit: `recover()` (or `forceCommit`) finishes it once the participant is back.
 */
export class CommitPendingError extends TxnError {
  readonly txid: string;
  readonly pending: readonly string[];

  constructor(txid: string, pending: readonly string[], cause?: unknown) {
    super(
      'TXN_COMMIT_PENDING',
      `transaction ${txid} is decided COMMIT but participants ${pending.map((p) => `"${p}"`).join(', ')} ` +
        'have not committed yet; recovery will finish it',
      { cause },
    );
    this.txid = txid;
    this.pending = pending;
  }
}

/**
 * The commit decision could not be written to the log (the log database went away after every
 * participant prepared), so whether it landed is unknown. Recovery settles it once the log is
 * back: commit if the decision landed, otherwise roll back. `listInDoubt()` shows it meanwhile.
 */
export class TxnOutcomeUnknownError extends TxnError {
  readonly txid: string;

  constructor(txid: string, cause: unknown) {
    super(
      'TXN_OUTCOME_UNKNOWN',
      `transaction ${txid}: the commit decision could not be logged; recovery will commit or roll it back`,
      { cause },
    );
    this.txid = txid;
  }
}

/**
 * Another coordinator (recovery or an operator) decided this transaction before we could:
 * it was rolled back.
 */
export class DecisionConflictError extends TxnError {
  readonly txid: string;

  constructor(txid: string, state: string) {
    super(
      'TXN_DECISION_CONFLICT',
      `transaction ${txid} was already decided elsewhere (state "${state}"); it was not committed`,
    );
    this.txid = txid;
  }
}

/** No log row and no prepared transaction carries this id. */
export class TxnNotFoundError extends TxnError {
  readonly txid: string;

  constructor(txid: string) {
    super('TXN_NOT_FOUND', `no in-doubt transaction ${txid}`);
    this.txid = txid;
  }
}

/** The transaction is still being driven by a live coordinator; an operator must not touch it. */
export class TxnInFlightError extends TxnError {
  readonly txid: string;

  constructor(txid: string) {
    super(
      'TXN_IN_FLIGHT',
      `transaction ${txid} belongs to a coordinator that is still running; wait for it to finish`,
    );
    this.txid = txid;
  }
}

/** A forced outcome contradicts the decision already in the log. Nothing was changed. */
export class TxnAlreadyDecidedError extends TxnError {
  readonly txid: string;
  readonly decision: 'commit' | 'abort';

  constructor(txid: string, decision: 'commit' | 'abort') {
    super(
      'TXN_ALREADY_DECIDED',
      `transaction ${txid} is already decided ${decision.toUpperCase()}; the opposite outcome cannot be forced`,
    );
    this.txid = txid;
    this.decision = decision;
  }
}

/**
 * Force-commit refused: not every participant holds a prepared transaction, so committing
 * the rest would break atomicity. Roll it back instead.
 */
export class TxnNotPreparedError extends TxnError {
  readonly txid: string;
  readonly missing: readonly string[];

  constructor(txid: string, missing: readonly string[]) {
    super(
      'TXN_NOT_PREPARED',
      `transaction ${txid} cannot be committed: participants ${missing.map((p) => `"${p}"`).join(', ')} ` +
        'hold no prepared transaction for it; roll it back instead',
    );
    this.txid = txid;
    this.missing = missing;
  }
}

/**
 * Recovery or a forced outcome could not reach every participant of a transaction (down,
 * unreachable, or not configured on this coordinator). The decision stands; run recovery
 * again once they are back.
 */
export class ResolutionIncompleteError extends TxnError {
  readonly txid: string;
  readonly decision: 'commit' | 'abort';
  readonly problems: readonly string[];

  constructor(txid: string, decision: 'commit' | 'abort', problems: readonly string[]) {
    super(
      'TXN_RESOLUTION_INCOMPLETE',
      `transaction ${txid} (${decision.toUpperCase()}) is not finished: ${problems.join('; ')}`,
    );
    this.txid = txid;
    this.decision = decision;
    this.problems = problems;
  }
}

/** Thrown by a saga step to fail at once, without further retries (a business refusal). */
export class NonRetryableError extends TxnError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'SAGA_NON_RETRYABLE', message, options);
  }
}

/** A saga step (or compensation) attempt ran longer than its `timeoutMs`. */
export class StepTimeoutError extends TxnError {
  readonly step: string;

  constructor(step: string, timeoutMs: number) {
    super('SAGA_STEP_TIMEOUT', `saga step "${step}" did not finish within ${timeoutMs} ms`);
    this.step = step;
  }
}

/** No saga with this id exists in the log. */
export class SagaNotFoundError extends TxnError {
  readonly sagaId: string;

  constructor(sagaId: string) {
    super('SAGA_NOT_FOUND', `no saga with id "${sagaId}"`);
    this.sagaId = sagaId;
  }
}

/**
 * The saga log holds a saga whose definition is not registered or whose steps no longer
 * match the registered definition, so it cannot be resumed safely.
 */
export class SagaDefinitionError extends TxnError {
  readonly sagaId: string;

  constructor(sagaId: string, message: string) {
    super('SAGA_DEFINITION', `saga "${sagaId}": ${message}`);
    this.sagaId = sagaId;
  }
}

/** The saga is owned by another orchestrator that is still running. */
export class SagaBusyError extends TxnError {
  readonly sagaId: string;

  constructor(sagaId: string) {
    super('SAGA_BUSY', `saga "${sagaId}" is being run by another live orchestrator`);
    this.sagaId = sagaId;
  }
}
