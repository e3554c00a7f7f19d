import { EventStoreValidationError, UpcastError } from './errors.js';

/** What an upcaster sees of a stored event. */
export interface UpcastInput {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
  readonly streamId: string;
}

/**
 * Turns events of `type` stored at `fromVersion` into version `fromVersion + 1`, optionally
 * renaming the type. Upcasters chain: a version-1 event passes through 1→2, 2→3, … until no
 * upcaster matches. Stored rows are never rewritten; upcasting happens on every read.
 *
 * @example
 * // v1 stored { amount: 100 } in dollars; v2 stores { cents: 10000, currency }.
 * const depositV2: Upcaster = {
 *   type: 'deposited',
 *   fromVersion: 1,
 *   upcast: (data) => ({ cents: (data as { amount: number }).amount * 100, currency: 'USD' }),
 * };
 */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  /** New event type for the upcast event; default: unchanged. */
  readonly toType?: string;
  upcast(data: unknown, event: UpcastInput): unknown;
}

/** Applies a set of upcasters; validated once at construction. */
export class Upcasters {
  private readonly byKey = new Map<string, Upcaster>();
  private readonly latest = new Map<string, number>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const u of upcasters) {
      if (typeof u?.type !== 'string' || u.type.length === 0) {
        throw new EventStoreValidationError('Upcaster.type must be a non-empty string');
      }
      if (!Number.isSafeInteger(u.fromVersion) || u.fromVersion < 1) {
        throw new EventStoreValidationError(
          `Upcaster for "${u.type}": fromVersion must be an integer >= 1`,
        );
      }
      if (typeof u.upcast !== 'function') {
        throw new EventStoreValidationError(`Upcaster for "${u.type}": upcast must be a function`);
      }
      if (u.toType !== undefined && (typeof u.toType !== 'string' || u.toType.length === 0)) {
        throw new EventStoreValidationError(`Upcaster for "${u.type}": toType must be non-empty`);
      }
      const key = `${u.fromVersion}:${u.type}`;
      if (this.byKey.has(key)) {
        throw new EventStoreValidationError(
          `Two upcasters for "${u.type}" from version ${u.fromVersion}`,
        );
      }
      this.byKey.set(key, u);
      const target = u.toType ?? u.type;
      this.latest.set(target, Math.max(this.latest.get(target) ?? 1, u.fromVersion + 1));
    }
  }

  /** True when no upcaster is registered. */
  get isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  /** The schema version new events of `type` are stored at when the caller gives none. */
  latestVersion(type: string): number {
    return this.latest.get(type) ?? 1;
  }

  /** Upcasts `event` as far as the chain goes. */
  apply(event: UpcastInput): { type: string; schemaVersion: number; data: unknown } {
    let { type, schemaVersion, data } = event;
    for (;;) {
      const u = this.byKey.get(`${schemaVersion}:${type}`);
      if (!u) return { type, schemaVersion, data };
      let next: unknown;
      try {
        next = u.upcast(data, { ...event, type, schemaVersion, data });
      } catch (err) {
        throw new UpcastError(
          `Upcasting "${type}" v${schemaVersion} in stream "${event.streamId}" failed`,
          err,
        );
      }
      if (next === undefined) {
        throw new UpcastError(
          `Upcaster "${type}" v${schemaVersion} returned undefined for stream "${event.streamId}"`,
        );
      }
      data = next;
      type = u.toType ?? type;
      schemaVersion += 1;
    }
  }
}
