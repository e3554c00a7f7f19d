import { EventStoreValidationError } from './errors.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The default PostgreSQL schema the store's tables live in. */
export const DEFAULT_SCHEMA = 'eventstore';

/** Validates a schema name and returns it double-quoted for SQL. */
export function quoteSchema(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new EventStoreValidationError(
      `Invalid schema name ${JSON.stringify(schema)}: use 1–63 lowercase letters, digits or _`,
    );
  }
  return `"${schema}"`;
}
