/** Shapes of the Linkforge REST API as the dashboard reads them. */

export type RedirectType = 301 | 302 | 307 | 308;
export type LinkStatus = 'active' | 'expired' | 'exhausted' | 'deleted';

export interface Link {
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
  /** Preview overrides and fetched preview, present where the server makes previews. */
  description?: string | null;
  image?: string | null;
  preview?: {
    status: string;
    title: string | null;
    description: string | null;
    image: string | null;
    siteName: string | null;
  };
  /** Set for a file link: the uploaded file it points to. */
  file?: {
    uploadId: string;
    fileName: string;
    contentType: string;
    size: number;
    url: string;
  } | null;
}

export interface LinkPage {
  items: Link[];
  nextCursor: string | null;
}

export interface Session {
  keyId: number;
  keyName: string;
  role: 'admin' | 'member';
  expiresAt: string;
  csrfToken: string;
  /** Base of short URLs, e.g. `https://sho.rt`. */
  shortBase: string;
}

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  role: 'admin' | 'member';
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Ranked {
  value: string;
  clicks: number;
}

export interface Analytics {
  totals: { clicks: number; uniqueVisitors: number };
  series: { t: string; clicks: number }[];
  referrers: Ranked[];
  countries: Ranked[];
  devices: Ranked[];
  browsers: Ranked[];
  os: Ranked[];
}

export interface PendingUpload {
  id: string;
  uploadUrl: string;
  method?: string;
  headers?: Record<string, string>;
  expiresAt: string;
}

/** A finished upload; `url` is where the stored file is served. */
export interface Upload {
  id: string;
  url?: string;
  contentType?: string;
  size?: number;
  [field: string]: unknown;
}
