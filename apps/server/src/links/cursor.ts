import { AppError } from '../errors.js';

/** Opaque keyset cursor of the link lists (REST and GraphQL): the last id of a page. */
export function encodeCursor(id: number): string {
  return Buffer.from(JSON.stringify({ id })).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  try {
    const { id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      id?: unknown;
    };
    if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return id;
  } catch {
    // reported below
  }
  throw new AppError('invalid_cursor', 'The cursor is not one this API returned.');
}
