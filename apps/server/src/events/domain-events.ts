/**
 * The domain events of Linkforge and their payloads. Every event travels in the same envelope;
 * the `type` selects the payload, so handlers are typed by the event they subscribe to.
 */

/** A link as its events describe it (no click count: that changes on every visit). */
export interface LinkSnapshot {
  readonly id: number;
  readonly workspaceId: number;
  readonly code: string;
  readonly url: string;
  readonly isAlias: boolean;
  readonly redirectType: number;
  readonly title: string | null;
  readonly tags: readonly string[];
  readonly expiresAt: string | null;
  readonly maxClicks: number | null;
}

/** One counted visit of a short link, as the redirect saw it. */
export interface LinkClicked {
  readonly linkId: number;
  readonly code: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly ip: string;
  readonly userAgent: string | undefined;
  readonly referrer: string | undefined;
}

/** Event type → payload. */
export interface DomainEventMap {
  'link.created': { readonly link: LinkSnapshot };
  'link.updated': { readonly link: LinkSnapshot; readonly changed: readonly string[] };
  'link.deleted': { readonly link: LinkSnapshot };
  'link.clicked': LinkClicked;
}

export type DomainEventType = keyof DomainEventMap;

/** The envelope of every domain event. */
export interface DomainEvent<K extends DomainEventType = DomainEventType> {
  /** Unique id (UUID): handlers and consumers deduplicate by it. */
  readonly id: string;
  readonly type: K;
  /** ISO 8601. */
  readonly occurredAt: string;
  readonly data: DomainEventMap[K];
}

export const LINK_EVENT_TYPES = ['link.created', 'link.updated', 'link.deleted'] as const;
export type LinkEventType = (typeof LINK_EVENT_TYPES)[number];
