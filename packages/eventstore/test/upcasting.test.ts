import { describe, expect, it } from 'vitest';
import { EventStoreValidationError, UpcastError } from '../src/index.js';
import { Upcasters } from '../src/upcasting.js';

const input = (type: string, schemaVersion: number, data: unknown) => ({
  type,
  schemaVersion,
  data,
  metadata: {},
  streamId: 's',
});

describe('Upcasters', () => {
  const chain = new Upcasters([
    {
      type: 'deposit',
      fromVersion: 1,
      toType: 'deposited',
      upcast: (d) => ({ cents: (d as { amount: number }).amount * 100 }),
    },
    { type: 'deposited', fromVersion: 2, upcast: (d) => ({ ...(d as object), currency: 'EUR' }) },
  ]);

  it('applies the chain from the stored version to the latest, renaming on the way', () => {
    expect(chain.apply(input('deposit', 1, { amount: 3 }))).toEqual({
      type: 'deposited',
      schemaVersion: 3,
      data: { cents: 300, currency: 'EUR' },
    });
    expect(chain.apply(input('deposited', 2, { cents: 1 }))).toEqual({
      type: 'deposited',
      schemaVersion: 3,
      data: { cents: 1, currency: 'EUR' },
    });
  });

  it('leaves events with no matching upcaster unchanged', () => {
    expect(chain.apply(input('withdrawn', 1, { amount: 1 }))).toEqual({
      type: 'withdrawn',
      schemaVersion: 1,
      data: { amount: 1 },
    });
  });

  it('reports the latest version a type is written at', () => {
    expect(chain.latestVersion('deposited')).toBe(3);
    expect(chain.latestVersion('withdrawn')).toBe(1);
    expect(chain.isEmpty).toBe(false);
    expect(new Upcasters().isEmpty).toBe(true);
  });

  it('wraps a throwing upcaster and one that returns undefined in UpcastError', () => {
    const bad = new Upcasters([
      {
        type: 'a',
        fromVersion: 1,
        upcast: () => {
          throw new Error('boom');
        },
      },
      { type: 'b', fromVersion: 1, upcast: () => undefined },
    ]);
    expect(() => bad.apply(input('a', 1, {}))).toThrow(UpcastError);
    expect(() => bad.apply(input('b', 1, {}))).toThrow(/returned undefined/);
  });

  it('refuses invalid definitions', () => {
    const up = (d: unknown) => d;
    expect(() => new Upcasters([{ type: '', fromVersion: 1, upcast: up }])).toThrow(
      EventStoreValidationError,
    );
    expect(() => new Upcasters([{ type: 'a', fromVersion: 0, upcast: up }])).toThrow(
      EventStoreValidationError,
    );
    expect(() => new Upcasters([{ type: 'a', fromVersion: 1, upcast: 'x' as never }])).toThrow(
      EventStoreValidationError,
    );
    expect(() => new Upcasters([{ type: 'a', fromVersion: 1, toType: '', upcast: up }])).toThrow(
      EventStoreValidationError,
    );
  });
});
