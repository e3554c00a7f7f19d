import type { Link } from '../links/link.js';
import type { LinkSnapshot } from './domain-events.js';

/** The event form of a link. */
export function linkSnapshot(link: Link): LinkSnapshot {
  return {
    id: link.id,
    workspaceId: link.workspaceId,
    code: link.code,
    url: link.url,
    isAlias: link.isAlias,
    redirectType: link.redirectType,
    title: link.title,
    tags: [...link.tags],
    expiresAt: link.expiresAt?.toISOString() ?? null,
    maxClicks: link.maxClicks,
  };
}
