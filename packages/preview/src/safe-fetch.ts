import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { blockedReason, isIpLiteral } from './address-policy.js';
import { PreviewError } from './errors.js';

/** One resolved address, as `dns.lookup(..., { all: true })` gives them. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface SafeFetchOptions {
  /** Whole-fetch deadline in ms: DNS, connects, redirects and body together. Default 5000. */
  readonly timeoutMs?: number;
  /** Largest body read, after decompression. Default 2 MiB. */
  readonly maxBytes?: number;
  /**
   * What a longer body does: `false` (default) fails with `TOO_LARGE`; `true` keeps the
   * first `maxBytes` and stops reading (`truncated` in the result) — enough for a page's
   * `<head>`. Either way no more than `maxBytes` is ever held.
   */
  readonly truncate?: boolean;
  /** Redirects followed before giving up. Default 3. */
  readonly maxRedirects?: number;
  /** User-Agent sent. */
  readonly userAgent?: string;
  /** Aborts the fetch from outside. */
  readonly signal?: AbortSignal;
  /** Host name resolution. Default: the system resolver (`dns.lookup`, all addresses). */
  readonly resolver?: Resolver;
  /**
   * UNSAFE, for tests only: exact IP addresses that are allowed although the address policy
   * refuses them (e.g. `['127.0.0.1']` for a local test server). Never set this from user
   * input or configuration in production: it reopens the SSRF hole it names.
   */
  readonly unsafeAllowAddresses?: readonly string[];
  /** UNSAFE, for tests only: ports allowed besides 80 and 443. */
  readonly unsafeAllowPorts?: readonly number[];
}

export interface SafeFetchResult {
  /** The URL the body came from, after redirects. */
  readonly url: string;
  readonly status: number;
  /** The Content-Type header as sent. */
  readonly contentType: string;
  readonly body: Buffer;
  /** True when the body was cut at `maxBytes` (only with `truncate`). */
  readonly truncated: boolean;
  /** Every URL redirected through, in order (not counting the final one). */
  readonly redirects: readonly string[];
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;
const DEFAULT_USER_AGENT = 'Mozilla/5.0 (compatible; LinkforgePreview/0.1)';
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches an HTML page from an untrusted URL without letting it reach anything internal.
 *
 * Every hop (the first request and each redirect) must be `http:` or `https:` on port 80
 * or 443 and must not carry credentials. Every address the host resolves to must be public
 * unicast (see `blockedReason`); the check runs inside the socket's own DNS `lookup`, so
 * the address that was checked is the address connected to — a DNS answer that changes
 * between a check and the connect (rebinding) cannot slip through. IP literals, which
 * never reach `lookup`, are checked before connecting. At most 3 redirects, a 5 s
 * deadline for everything, a 2 MiB cap on the decompressed body, `text/html` or
 * `application/xhtml+xml` only.
 *
 * @example
 * const page = await safeFetch('https://example.com/article');
 * page.body; // Buffer, at most 2 MiB
 */
export async function safeFetch(
  input: string,
  options: SafeFetchOptions = {},
): Promise<SafeFetchResult> {
  const timeoutMs = integerOption(options.timeoutMs, DEFAULT_TIMEOUT_MS, 1, 'timeoutMs');
  const maxBytes = integerOption(options.maxBytes, DEFAULT_MAX_BYTES, 1, 'maxBytes');
  const maxRedirects = integerOption(
    options.maxRedirects,
    DEFAULT_MAX_REDIRECTS,
    0,
    'maxRedirects',
  );
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new PreviewError('TIMEOUT', 'timed out')),
    timeoutMs,
  );
  const onOuterAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted === true) onOuterAbort();
  const redirects: string[] = [];
  try {
    let url = checkUrl(input, options);
    for (;;) {
      const response = await request(url, options, controller.signal);
      const status = response.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        response.destroy();
        const location = response.headers.location;
        if (location === undefined) {
          throw new PreviewError('HTTP_ERROR', 'redirect without Location', { status });
        }
        if (redirects.length >= maxRedirects) {
          throw new PreviewError('TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects`);
        }
        redirects.push(url.href);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch (cause) {
          throw new PreviewError('INVALID_URL', 'redirect to an invalid URL', { cause });
        }
        url = checkUrl(next.href, options);
        continue;
      }
      if (status < 200 || status > 299) {
        response.destroy();
        throw new PreviewError('HTTP_ERROR', `server answered ${status}`, { status });
      }
      const contentType = response.headers['content-type'] ?? '';
      const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
      if (!HTML_TYPES.has(mediaType)) {
        response.destroy();
        throw new PreviewError('NOT_HTML', `content type ${mediaType || 'missing'} is not HTML`);
      }
      const declared = Number(response.headers['content-length']);
      if (options.truncate !== true && Number.isFinite(declared) && declared > maxBytes) {
        response.destroy();
        throw new PreviewError('TOO_LARGE', `body of ${declared} bytes exceeds ${maxBytes}`);
      }
      const { body, truncated } = await readCapped(
        decoded(response),
        maxBytes,
        response,
        options.truncate === true,
      );
      return { url: url.href, status, contentType, body, truncated, redirects };
    }
  } catch (error) {
    throw normalize(error, controller.signal);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Parses and checks a URL against the scheme, port, credential and literal-address rules.
 * The WHATWG parser already rewrites decimal (`2130706433`), octal (`0177.0.0.1`), hex
 * (`0x7f.1`) and short (`127.1`) IPv4 forms to dotted decimal, so they are judged as the
 * address they really are.
 */
export function checkUrl(input: string, options: SafeFetchOptions = {}): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new PreviewError('INVALID_URL', 'not an absolute URL', { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PreviewError('BLOCKED_SCHEME', `scheme ${url.protocol} is not allowed`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new PreviewError('INVALID_URL', 'URLs with credentials are not fetched');
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (port !== 80 && port !== 443 && !(options.unsafeAllowPorts ?? []).includes(port)) {
    throw new PreviewError('BLOCKED_PORT', `port ${port} is not allowed`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  // RFC 6761: every *.localhost name is loopback, whatever a resolver might say.
  if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new PreviewError('BLOCKED_ADDRESS', 'localhost is not allowed');
  }
  if (isIpLiteral(host)) assertAllowed(host, options);
  return url;
}

function assertAllowed(address: string, options: SafeFetchOptions): void {
  const reason = blockedReason(address);
  if (reason === undefined) return;
  if ((options.unsafeAllowAddresses ?? []).includes(address)) return;
  throw new PreviewError('BLOCKED_ADDRESS', `address in a ${reason} range is not allowed`);
}

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
    });
  });

/**
 * A `net` lookup function that resolves every address of a host and refuses the connection
 * unless all of them are allowed. `net.connect` calls it for the very connection it is
 * about to make.
 */
function safeLookup(options: SafeFetchOptions): LookupFunction {
  const resolver = options.resolver ?? systemResolver;
  return (hostname, lookupOptions, callback) => {
    resolver(hostname).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(new PreviewError('DNS_FAILED', `${hostname} has no addresses`), '', 4);
          return;
        }
        try {
          for (const { address } of addresses) assertAllowed(address, options);
        } catch (error) {
          callback(error as PreviewError, '', 4);
          return;
        }
        const wanted = lookupOptions.family;
        const usable = addresses.filter(
          (a) => wanted === undefined || wanted === 0 || a.family === wanted,
        );
        if (usable.length === 0) {
          callback(new PreviewError('DNS_FAILED', `${hostname} has no usable address`), '', 4);
        } else if (lookupOptions.all === true) {
          (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [...usable]);
        } else {
          callback(null, usable[0]!.address, usable[0]!.family);
        }
      },
      (cause: unknown) => {
        callback(
          new PreviewError('DNS_FAILED', `${hostname} could not be resolved`, { cause }),
          '',
          4,
        );
      },
    );
  };
}

function request(
  url: URL,
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'GET',
      // A fresh connection per hop: a pooled socket could be one that was opened to an
      // address checked for another host.
      agent: false,
      signal,
      lookup: safeLookup(options),
      headers: {
        'User-Agent': options.userAgent ?? DEFAULT_USER_AGENT,
        Accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1',
        'Accept-Encoding': 'gzip, deflate, br',
      },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

function decoded(response: http.IncomingMessage): Readable {
  const encoding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  if (decoder === undefined) return response;
  response.on('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
}

/** Reads at most `maxBytes`; one byte more stops the transfer and fails or truncates. */
async function readCapped(
  stream: Readable,
  maxBytes: number,
  response: http.IncomingMessage,
  truncate: boolean,
): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      if (total + bytes.length > maxBytes) {
        if (!truncate) throw new PreviewError('TOO_LARGE', `body exceeds ${maxBytes} bytes`);
        chunks.push(bytes.subarray(0, maxBytes - total));
        total = maxBytes;
        truncated = true;
        break;
      }
      total += bytes.length;
      chunks.push(bytes);
    }
  } finally {
    response.destroy();
  }
  return { body: Buffer.concat(chunks), truncated };
}

function integerOption(
  value: number | undefined,
  fallback: number,
  min: number,
  name: string,
): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}`);
  }
  return chosen;
}

function normalize(error: unknown, signal: AbortSignal): PreviewError {
  if (signal.aborted && signal.reason instanceof PreviewError) return signal.reason;
  if (error instanceof PreviewError) return error;
  // Errors from inside the lookup arrive wrapped by net/http on some paths.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof PreviewError) return cause;
  if (signal.aborted) {
    return new PreviewError('ABORTED', 'aborted by the caller', { cause: signal.reason });
  }
  return new PreviewError('NETWORK_ERROR', 'could not fetch the page', { cause: error });
}
