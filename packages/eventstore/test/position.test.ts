import { describe, expect, it } from 'vitest';
import { comparePositions, EventStoreValidationError, parsePosition, START } from '../src/index.js';

describe('positions', () => {
  it('order numerically by transaction component, then sequence — not as text', () => {
    const sorted = ['10:1', '9:50', '9:7', START, '10:0'].sort(comparePositions);
    expect(sorted).toEqual([START, '9:7', '9:50', '10:0', '10:1']);
    expect(comparePositions('5:5', '5:5')).toBe(0);
  });

  it('parse into bigints, up to the xid8 and bigint ranges', () => {
    expect(parsePosition('18446744073709551615:9223372036854775807')).toEqual({
      transactionId: 18446744073709551615n,
      sequence: 9223372036854775807n,
    });
  });

  it('refuse malformed or out-of-range positions', () => {
    for (const bad of [
      '',
      'end',
      '1',
      '1:',
      ':1',
      '-1:2',
      '1:2:3',
      ' 1:2',
      '1.5:2',
      '18446744073709551616:1',
      '1:9223372036854775808',
    ]) {
      expect(() => parsePosition(bad), bad).toThrow(EventStoreValidationError);
    }
    expect(() => parsePosition(42 as unknown as string)).toThrow(EventStoreValidationError);
  });
});
