import { PGlite } from '@electric-sql/pglite';
import { pgliteDatabase } from '@linkforge/eventstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonPreparingBilling } from '../src/billing/billing-port.js';
import type { CreditLedger } from '../src/billing/ledger.js';

describe('CreditLedger (event-sourced workspace credits, on PGlite)', () => {
  let pglite: PGlite;
  let ledger: CreditLedger;
  let next = 100;
  const workspace = () => next++;

  beforeAll(async () => {
    pglite = await PGlite.create();
    ledger = (await nonPreparingBilling(pgliteDatabase(pglite))).ledger;
  });
  afterAll(async () => {
    await pglite?.close();
  });

  const debit = (workspaceId: number, amount: number, key: string) =>
    ledger.debit({ workspaceId, amount, key, reference: { kind: 'test' } });

  it('the balance is the replay of deposits, debits and refunds', async () => {
    const ws = workspace();
    await ledger.deposit(ws, 10);
    await debit(ws, 3, 'a');
    await ledger.refund('a');
    await debit(ws, 4, 'b');
    expect(await ledger.balance(ws)).toEqual({ workspaceId: ws, balance: 6, version: 4 });
    const replayed = await ledger.store.readStream(`credits-${ws}`);
    const sum = replayed.events.reduce(
      (s, e) => s + (e.type === 'CreditsDebited' ? -1 : 1) * (e.data as { amount: number }).amount,
      0,
    );
    expect(sum).toBe(6);
  });

  it('the aggregate refuses an overdraft and writes nothing', async () => {
    const ws = workspace();
    await ledger.deposit(ws, 2);
    await expect(debit(ws, 3, 'too-much')).rejects.toMatchObject({
      code: 'payment_required',
      extra: { balance: 2, required: 3 },
    });
    expect(await ledger.balance(ws)).toMatchObject({ balance: 2, version: 1 });
    expect(await ledger.isPaid('too-much')).toBe(false);
  });

  it('a debit is idempotent by key; a refund happens once and only for a recorded debit', async () => {
    const ws = workspace();
    await ledger.deposit(ws, 5);
    await debit(ws, 2, 'claim-1');
    await debit(ws, 2, 'claim-1');
    expect(await ledger.balance(ws)).toMatchObject({ balance: 3, version: 2 });
    expect(await ledger.isPaid('claim-1')).toBe(true);
    expect(await ledger.refund('claim-1')).toBe(true);
    expect(await ledger.refund('claim-1')).toBe(false);
    expect(await ledger.refund('never-debited')).toBe(false);
    expect(await ledger.balance(ws)).toMatchObject({ balance: 5, version: 3 });
    expect(await ledger.isPaid('claim-1')).toBe(false);
  });

  it('refuses deposits that are not positive integers or exceed the bounds', async () => {
    const ws = workspace();
    for (const amount of [0, -1, 1.5, Number.NaN, 1_000_001]) {
      await expect(ledger.deposit(ws, amount)).rejects.toMatchObject({
        code: 'validation_failed',
      });
    }
    expect(await ledger.balance(ws)).toMatchObject({ balance: 0, version: 0 });
  });

  it('keeps a snapshot every 100 events and still replays to the same balance', async () => {
    const ws = workspace();
    await ledger.deposit(ws, 1000);
    for (let i = 0; i < 120; i++) await debit(ws, 1, `s-${i}`);
    const snapshot = await ledger.store.loadSnapshot(`credits-${ws}`, { name: 'credit-account' });
    expect(snapshot?.version).toBeGreaterThanOrEqual(100);
    expect(await ledger.balance(ws)).toMatchObject({ balance: 880, version: 121 });
    await expect(debit(ws, 881, 'over')).rejects.toMatchObject({ code: 'payment_required' });
  });

  it('pages the history newest first', async () => {
    const ws = workspace();
    for (let i = 1; i <= 3; i++) await ledger.deposit(ws, i, { note: `n${i}` });
    const page = await ledger.history(ws, { limit: 2 });
    expect(page.items.map((e) => [e.version, e.amount, e.note])).toEqual([
      [3, 3, 'n3'],
      [2, 2, 'n2'],
    ]);
    expect(page.nextBefore).toBe(2);
    const rest = await ledger.history(ws, { limit: 2, before: 2 });
    expect(rest.items.map((e) => e.version)).toEqual([1]);
    expect(rest.nextBefore).toBeNull();
  });
});
