import { EventStoreValidationError } from './errors.js';

/**
 * The position before the first event. Positions are `"<transactionId>:<sequence>"`: the
 * PostgreSQL transaction id (xid8) of the appending transaction, then the event's sequence
 * number. The global order is by transaction id, then sequence (see README, "Ordering").
 */
export const START = '0:0';

const POSITION = /^(\d{1,20}):(\d{1,20})$/;

/** A parsed position. */
export interface ParsedPosition {
  readonly transactionId: bigint;
  readonly sequence: bigint;
}

/** Parses a position string; throws {@link EventStoreValidationError} when malformed. */
export function parsePosition(position: string): ParsedPosition {
  const match = typeof position === 'string' ? POSITION.exec(position) : null;
  if (!match) {
    throw new EventStoreValidationError(
      `Invalid position ${JSON.stringify(position)}: expected "<transactionId>:<sequence>"`,
    );
  }
  const transactionId = BigInt(match[1] as string);
  const sequence = BigInt(match[2] as string);
  if (transactionId >= 2n ** 64n || sequence >= 2n ** 63n) {
    throw new EventStoreValidationError(`Invalid position ${JSON.stringify(position)}: too large`);
  }
  return { transactionId, sequence };
}

/** Formats a position from its parts (as returned by SQL as text). */
export function formatPosition(transactionId: string | bigint, sequence: string | bigint): string {
  return `${BigInt(transactionId)}:${BigInt(sequence)}`;
}

/**
 * Orders two positions: negative when `a` comes first, 0 when equal, positive otherwise.
 *
 * @example
 * events.sort((x, y) => comparePositions(x.position, y.position));
 */
export function comparePositions(a: string, b: string): number {
  const pa = parsePosition(a);
  const pb = parsePosition(b);
  if (pa.transactionId !== pb.transactionId) return pa.transactionId < pb.transactionId ? -1 : 1;
  if (pa.sequence !== pb.sequence) return pa.sequence < pb.sequence ? -1 : 1;
  return 0;
}
