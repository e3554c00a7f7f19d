import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreviewError, safeFetch, type ResolvedAddress } from '../src/index.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PreviewError) return error.code;
    throw error;
  }
  return 'fetched';
}

describe('safeFetch over https', () => {
  let server: https.Server;
  let port: number;
  let handshakes = 0;
  let connections = 0;
  const resolver = async (hostname: string): Promise<ResolvedAddress[]> => {
    if (hostname === 'secure.test') return [{ address: '127.0.0.1', family: 4 }];
    if (hostname === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
    throw new Error('NXDOMAIN');
  };

  beforeAll(async () => {
    // A self-signed certificate for secure.test, made fresh for this run.
    const dir = mkdtempSync(path.join(tmpdir(), 'lf-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=secure.test',
        '-addext',
        'subjectAltName=DNS:secure.test',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(path.join(dir, 'key.pem'));
    const cert = readFileSync(path.join(dir, 'cert.pem'));
    rmSync(dir, { recursive: true, force: true });
    server = https.createServer({ key, cert }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<title>secure</title>');
    });
    server.on('secureConnection', () => {
      handshakes += 1;
    });
    server.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('checks resolved addresses on the https path too', async () => {
    const code = await codeOf(
      safeFetch(`https://metadata.test:${port}/`, { resolver, unsafeAllowPorts: [port] }),
    );
    expect(code).toBe('BLOCKED_ADDRESS');
  });

  it('connects to the checked address and still verifies the certificate', async () => {
    const error = await safeFetch(`https://secure.test:${port}/`, {
      resolver,
      unsafeAllowPorts: [port],
      unsafeAllowAddresses: ['127.0.0.1'],
    }).catch((e: unknown) => e);
    // The connection reached the server the resolver named, and the client refused its
    // self-signed certificate: no handshake completed.
    expect(error).toBeInstanceOf(PreviewError);
    expect((error as PreviewError).code).toBe('NETWORK_ERROR');
    expect(((error as PreviewError).cause as { code?: string }).code).toBe(
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
    expect(connections).toBeGreaterThan(0);
    expect(handshakes).toBe(0);
  });
});
