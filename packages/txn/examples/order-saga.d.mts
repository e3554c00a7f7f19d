import type pg from 'pg';
import type { SagaDefinition } from '@linkforge/txn';

export interface OrderInput {
  orderId: string;
  item: string;
  qty: number;
  amountCents: number;
}

export interface ShopState {
  order: { id: string; status: 'pending' | 'confirmed' | 'cancelled' } | null;
  payments: { idempotency_key: string; amount_cents: number; status: 'charged' | 'refunded' }[];
  stock: number | null;
  reserved: number;
}

export declare const SHOP_SCHEMA: string;
export declare function setupShop(
  pool: pg.Pool,
  options: { item: string; stock?: number },
): Promise<void>;
export declare function orderSaga(pool: pg.Pool): SagaDefinition<OrderInput>;
export declare function shopState(pool: pg.Pool, orderId: string, item: string): Promise<ShopState>;
