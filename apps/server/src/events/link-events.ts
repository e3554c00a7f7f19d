import type { Link } from '../links/link.js';
import type { LinkSnapshot } from './domain-events.js';

/** The event form of a link (all of it known before the link is stored). */
export function linkSnapshot(
  link: Pick<
    Link,
    | 'id'
    | 'workspaceId'
    | 'code'
    | 'url'
    | 'isAlias'
    | 'redirectType'
    | 'title'
    | 'tags'
    | 'expiresAt'
    | 'maxClicks'
  >,
): LinkSnapshot {
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
