-- Read model of the event-sourced credit ledger (the events live in schema billing_ledger,
-- created by @linkforge/eventstore). Both tables are written only by the ledger's inline
-- projection, in the transaction that appends the events, so they never lag the events.
-- This file is applied to the links database with every other migration, and on its own to a
-- separate billing database (BILLING_DATABASE_URL), so it must stay idempotent.

-- One row per workspace with a ledger: the balance after `version` events. Claims lock this row
-- (SELECT … FOR UPDATE) before deciding, so debits of one workspace serialise.
CREATE TABLE IF NOT EXISTS billing_accounts (
  workspace_id bigint PRIMARY KEY,
  balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
  version bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency keys of debits and refunds: a retried debit or refund with the same key finds
-- its earlier effect here instead of repeating it.
CREATE TABLE IF NOT EXISTS billing_operations (
  op_key text PRIMARY KEY,
  workspace_id bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('debit', 'refund', 'deposit')),
  amount bigint NOT NULL CHECK (amount > 0),
  stream_version bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
