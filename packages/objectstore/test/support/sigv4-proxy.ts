import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A reverse proxy in front of the local S3 emulator (s3rver) that does what real S3 does and
 * the emulator does not: verify AWS Signature Version 4 on every request, presigned query
 * URLs and Authorization headers alike, including expiry and every signed header. It is
 * written from the published SigV4 algorithm, not with the SDK's signer, so a signing bug
 * in the adapter cannot be mirrored here.
 *
 * It also fills two gaps of the emulator the way S3 behaves: AbortMultipartUpload (by
 * removing the emulator's upload directory) and `If-None-Match: *` on PutObject and
 * CompleteMultipartUpload (412 when the object exists).
 */
export interface SigV4ProxyOptions {
  readonly target: { host: string; port: number };
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** The emulator's data directory (for AbortMultipartUpload). */
  readonly emulatorDirectory: string;
}

export interface SigV4Proxy {
  readonly endpoint: string;
  /** Requests refused, with the reason, newest last. */
  readonly refusals: string[];
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024 * 1024;
const CLOCK_SKEW_MS = 15 * 60 * 1000;

export async function startSigV4Proxy(options: SigV4ProxyOptions): Promise<SigV4Proxy> {
  const refusals: string[] = [];
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of req) {
      length += (chunk as Buffer).length;
      if (length > MAX_BODY) throw new Error('body too large for the test proxy');
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const reason = verifyRequest(req, body, options);
    if (reason !== undefined) {
      refusals.push(reason);
      const code = reason.startsWith('expired') ? 'AccessDenied' : 'SignatureDoesNotMatch';
      res.writeHead(403, { 'Content-Type': 'application/xml' });
      res.end(
        `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${reason}</Message></Error>`,
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'http://proxy');
    const uploadId = url.searchParams.get('uploadId');
    if (req.method === 'DELETE' && uploadId !== null) {
      if (!/^[a-f0-9]+$/.test(uploadId)) throw new Error('odd upload id');
      const bucket = decodeURIComponent(url.pathname.split('/')[1] ?? '');
      await rm(path.join(options.emulatorDirectory, bucket, '._S3rver_uploads', uploadId), {
        recursive: true,
        force: true,
      });
      res.writeHead(204);
      res.end();
      return;
    }
    if (
      (req.method === 'PUT' || (req.method === 'POST' && uploadId !== null)) &&
      req.headers['if-none-match'] === '*' &&
      !url.searchParams.has('partNumber') &&
      (await upstreamExists(options.target, url.pathname))
    ) {
      res.writeHead(412, { 'Content-Type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>PreconditionFailed</Code></Error>');
      return;
    }
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const upstream = http.request({
      host: options.target.host,
      port: options.target.port,
      method: req.method,
      path: req.url,
      headers,
    });
    upstream.on('response', (response) => {
      res.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(res);
    });
    upstream.on('error', (error) => {
      res.statusCode = 502;
      res.end(String(error));
    });
    upstream.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    refusals,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Whether the emulator holds an object at `pathname` (it does not check preconditions). */
function upstreamExists(
  target: { host: string; port: number },
  pathname: string,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const head = http.request({ ...target, method: 'HEAD', path: pathname }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    head.on('error', reject);
    head.end();
  });
}

/** Returns why the request must be refused, or `undefined` when its signature holds. */
function verifyRequest(
  req: http.IncomingMessage,
  body: Buffer,
  options: SigV4ProxyOptions,
): string | undefined {
  const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split(/\?(.*)/s, 2);
  const query = parseQuery(rawQuery);
  const get = (name: string): string | undefined => query.find(([k]) => k === name)?.[1];
  let algorithm: string | undefined;
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  let amzDate: string | undefined;
  let payloadHash: string;
  let expiresSeconds: number | undefined;

  if (get('X-Amz-Algorithm') !== undefined) {
    algorithm = get('X-Amz-Algorithm');
    credential = get('X-Amz-Credential');
    signedHeaders = get('X-Amz-SignedHeaders');
    signature = get('X-Amz-Signature');
    amzDate = get('X-Amz-Date');
    const expires = get('X-Amz-Expires');
    if (expires === undefined || !/^\d+$/.test(expires)) return 'missing X-Amz-Expires';
    expiresSeconds = Number(expires);
    if (expiresSeconds < 1 || expiresSeconds > 604_800) return 'X-Amz-Expires out of range';
    payloadHash = get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
  } else {
    const authorization = req.headers['authorization'];
    if (authorization === undefined) return 'anonymous request';
    const match = /^(\S+) Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
      authorization,
    );
    if (match === null) return 'malformed Authorization header';
    [, algorithm, credential, signedHeaders, signature] = match;
    amzDate = single(req.headers['x-amz-date']);
    payloadHash = single(req.headers['x-amz-content-sha256']) ?? '';
    if (/^[0-9a-f]{64}$/.test(payloadHash)) {
      if (createHash('sha256').update(body).digest('hex') !== payloadHash) {
        return 'payload hash does not match the body';
      }
    } else if (payloadHash !== 'UNSIGNED-PAYLOAD') {
      return 'unsupported payload hash';
    }
  }
  if (algorithm !== 'AWS4-HMAC-SHA256') return 'unsupported algorithm';
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    return 'incomplete signature';
  }
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) return 'bad X-Amz-Date';
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  if (accessKeyId !== options.accessKeyId) return 'unknown access key';
  if (date !== amzDate.slice(0, 8) || region !== options.region || service !== 's3') {
    return 'credential scope does not match';
  }
  if (terminator !== 'aws4_request') return 'bad credential terminator';

  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T` +
      `${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const now = Date.now();
  if (expiresSeconds !== undefined) {
    if (now > signedAt + expiresSeconds * 1000) return 'expired: request has expired';
    if (signedAt > now + CLOCK_SKEW_MS) return 'signed in the future';
  } else if (Math.abs(now - signedAt) > CLOCK_SKEW_MS) {
    return 'expired: request time too skewed';
  }

  const headerNames = signedHeaders.split(';');
  if (!headerNames.includes('host')) return 'host is not signed';
  const canonicalHeaders: string[] = [];
  for (const name of headerNames) {
    const value = req.headers[name];
    if (value === undefined) return `signed header ${name} is missing`;
    const text = Array.isArray(value) ? value.join(',') : value;
    canonicalHeaders.push(`${name}:${text.trim().replace(/\s+/g, ' ')}\n`);
  }
  const canonicalUri = rawPath
    .split('/')
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join('/');
  const canonicalQuery = query
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [
    req.method ?? 'GET',
    canonicalUri,
    canonicalQuery,
    canonicalHeaders.join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = hmac(`AWS4${options.secretAccessKey}`, date);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 'signature does not match';
  }
  return undefined;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  return raw.split('&').map((pair) => {
    const i = pair.indexOf('=');
    const name = i === -1 ? pair : pair.slice(0, i);
    const value = i === -1 ? '' : pair.slice(i + 1);
    return [decodeURIComponent(name), decodeURIComponent(value)];
  });
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
