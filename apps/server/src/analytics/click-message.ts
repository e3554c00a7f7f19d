/**
 * A click event as it travels on the stream (version 1). The IP address travels to the worker,
 * which turns it into a country and a daily-salted visitor hash and then forgets it.
 */
export interface ClickMessage {
  readonly v: 1;
  readonly linkId: number;
  readonly code: string;
  /** Epoch milliseconds, when the redirect answered. */
  readonly at: number;
  readonly ip: string;
  readonly ua: string | null;
  readonly ref: string | null;
}

/** Longest user agent / referrer kept: longer ones are cut (they are never needed whole). */
export const MAX_HEADER_CHARS = 1024;

export function toClickMessage(click: {
  linkId: number;
  code: string;
  at: number;
  ip: string;
  userAgent: string | undefined;
  referrer: string | undefined;
}): ClickMessage {
  return {
    v: 1,
    linkId: click.linkId,
    code: click.code,
    at: click.at,
    ip: click.ip,
    ua: click.userAgent === undefined ? null : click.userAgent.slice(0, MAX_HEADER_CHARS),
    ref: click.referrer === undefined ? null : click.referrer.slice(0, MAX_HEADER_CHARS),
  };
}

/** Checks a payload read from the stream; returns undefined for anything malformed. */
export function parseClickMessage(payload: unknown): ClickMessage | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (p['v'] !== 1) return undefined;
  const { linkId, code, at, ip, ua, ref } = p;
  if (typeof linkId !== 'number' || !Number.isSafeInteger(linkId) || linkId <= 0) return undefined;
  if (typeof code !== 'string' || code.length === 0 || code.length > 64) return undefined;
  if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  if (typeof ip !== 'string' || ip.length > 64) return undefined;
  if (ua !== null && typeof ua !== 'string') return undefined;
  if (ref !== null && typeof ref !== 'string') return undefined;
  return {
    v: 1,
    linkId,
    code,
    at,
    ip,
    ua: ua?.slice(0, MAX_HEADER_CHARS) ?? null,
    ref: ref?.slice(0, MAX_HEADER_CHARS) ?? null,
  };
}
