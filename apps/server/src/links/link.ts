export type RedirectType = 301 | 302 | 307 | 308;
export const REDIRECT_TYPES: readonly RedirectType[] = [301, 302, 307, 308];

/** A short link as stored. */
export interface Link {
  readonly id: number;
  readonly workspaceId: number;
  readonly code: string;
  readonly isAlias: boolean;
  readonly url: string;
  readonly redirectType: RedirectType;
  readonly title: string | null;
  readonly tags: readonly string[];
  readonly expiresAt: Date | null;
  readonly maxClicks: number | null;
  readonly clicks: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly deletedAt: Date | null;
}

export type LinkStatus = 'active' | 'expired' | 'exhausted' | 'deleted';

export function linkStatus(
  link: Pick<Link, 'expiresAt' | 'maxClicks' | 'clicks' | 'deletedAt'>,
  now = Date.now(),
): LinkStatus {
  if (link.deletedAt !== null) return 'deleted';
  if (link.expiresAt !== null && link.expiresAt.getTime() <= now) return 'expired';
  if (link.maxClicks !== null && link.clicks >= link.maxClicks) return 'exhausted';
  return 'active';
}

/** The public JSON form of a link (REST and CLI). */
export interface LinkView {
  code: string;
  shortUrl: string;
  url: string;
  alias: boolean;
  title: string | null;
  tags: string[];
  redirectType: RedirectType;
  expiresAt: string | null;
  maxClicks: number | null;
  clicks: number;
  status: LinkStatus;
  createdAt: string;
  updatedAt: string;
}

export function toView(link: Link, publicBaseUrl: string): LinkView {
  return {
    code: link.code,
    shortUrl: `${publicBaseUrl}/${link.code}`,
    url: link.url,
    alias: link.isAlias,
    title: link.title,
    tags: [...link.tags],
    redirectType: link.redirectType,
    expiresAt: link.expiresAt?.toISOString() ?? null,
    maxClicks: link.maxClicks,
    clicks: link.clicks,
    status: linkStatus(link),
    createdAt: link.createdAt.toISOString(),
    updatedAt: link.updatedAt.toISOString(),
  };
}
