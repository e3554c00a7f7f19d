import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PreviewError,
  blockedReason,
  safeFetch,
  type ResolvedAddress,
  type SafeFetchOptions,
} from '../src/index.js';
import { html, redirect, startTestServer, type TestServer } from './support/server.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PreviewError) return error.code;
    throw error;
  }
  return 'fetched';
}

/** A resolver that answers from a table and counts its calls. */
function fakeDns(table: Record<string, readonly string[] | (() => readonly string[])>) {
  const calls: string[] = [];
  const resolver = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const entry = table[hostname];
    if (entry === undefined) throw new Error(`NXDOMAIN ${hostname}`);
    const addresses = typeof entry === 'function' ? entry() : entry;
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolver, calls };
}

describe('address policy', () => {
  it('refuses every non-public range and allows public unicast', () => {
    const blocked: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '10.0.0.1': 'private',
      '172.16.5.4': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'linkLocal',
      '100.64.0.1': 'carrierGradeNat',
      '224.0.0.1': 'multicast',
      '255.255.255.255': 'broadcast',
      '0.0.0.0': 'unspecified',
      '192.0.2.10': 'reserved',
      '::1': 'loopback',
      '::': 'unspecified',
      'fc00::1': 'uniqueLocal',
      'fd00:ec2::254': 'uniqueLocal',
      'fe80::1': 'linkLocal',
      'ff02::1': 'multicast',
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:169.254.169.254': 'linkLocal',
      '::ffff:10.1.2.3': 'private',
      '64:ff9b::a00:1': 'private',
      '2002:a00:1::1': '6to4',
      '2001::1': 'teredo',
    };
    for (const [address, reason] of Object.entries(blocked)) {
      expect(blockedReason(address), address).toBe(reason);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '64:ff9b::808:808']) {
      expect(blockedReason(address), address).toBeUndefined();
    }
  });
});

describe('safeFetch refusals', () => {
  let server: TestServer;
  /** Lets the test server's port through but no address: the address rules stay on. */
  let portOnly: SafeFetchOptions;
  /** Lets the test server through entirely, as a stand-in for a public site. */
  let allowed: SafeFetchOptions;

  beforeAll(async () => {
    server = await startTestServer();
    portOnly = { unsafeAllowPorts: [server.port] };
    allowed = { unsafeAllowPorts: [server.port], unsafeAllowAddresses: ['127.0.0.1'] };
    server.route('/page', html('<title>ok</title>'));
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses schemes other than http and https', async () => {
    for (const url of [
      'file:///etc/passwd',
      'ftp://example.com/',
      'gopher://example.com/',
      'data:text/html,<title>x</title>',
      'javascript:alert(1)',
      'ws://example.com/',
    ]) {
      expect(await codeOf(safeFetch(url)), url).toBe('BLOCKED_SCHEME');
    }
  });

  it('refuses ports other than 80 and 443 before resolving anything', async () => {
    const dns = fakeDns({ 'example.test': ['93.184.216.34'] });
    for (const url of [
      'http://example.test:8080/',
      'https://example.test:22/',
      'http://example.test:6379/',
    ]) {
      expect(await codeOf(safeFetch(url, { resolver: dns.resolver })), url).toBe('BLOCKED_PORT');
    }
    expect(dns.calls).toEqual([]);
  });

  it('refuses URLs with credentials and malformed URLs', async () => {
    expect(await codeOf(safeFetch('http://user:pass@example.test/'))).toBe('INVALID_URL');
    expect(await codeOf(safeFetch('not a url'))).toBe('INVALID_URL');
  });

  it('refuses internal IP literals in every spelling, without connecting', async () => {
    const port = server.port;
    const urls = [
      `http://127.0.0.1:${port}/page`,
      `http://127.1:${port}/page`,
      `http://2130706433:${port}/page`,
      `http://0x7f000001:${port}/page`,
      `http://0177.0.0.1:${port}/page`,
      `http://0x7f.0.0.1:${port}/page`,
      `http://[::ffff:127.0.0.1]:${port}/page`,
      `http://[::ffff:7f00:1]:${port}/page`,
      `http://[::1]:${port}/page`,
      `http://localhost:${port}/page`,
      `http://localhost.:${port}/page`,
      `http://app.localhost:${port}/page`,
      `http://0.0.0.0:${port}/page`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
      'http://2852039166/latest/meta-data/',
      'http://10.0.0.1/',
      'http://172.16.0.1/',
      'http://192.168.0.1/',
      'http://100.64.0.1/',
      'http://224.0.0.1/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
    ];
    for (const url of urls) {
      expect(await codeOf(safeFetch(url, portOnly)), url).toBe('BLOCKED_ADDRESS');
    }
    expect(server.connections()).toBe(0);
  });

  it('refuses a host name if any of its addresses is internal', async () => {
    const dns = fakeDns({
      'internal.test': ['10.0.0.5'],
      'metadata.test': ['169.254.169.254'],
      'mapped.test': ['::ffff:192.168.0.10'],
      'ula.test': ['fd12:3456::1'],
      'mixed.test': ['93.184.216.34', '127.0.0.1'],
      'cgnat.test': ['100.100.100.200'],
    });
    const hosts = [
      'internal.test',
      'metadata.test',
      'mapped.test',
      'ula.test',
      'mixed.test',
      'cgnat.test',
    ];
    for (const host of hosts) {
      expect(await codeOf(safeFetch(`http://${host}/`, { resolver: dns.resolver })), host).toBe(
        'BLOCKED_ADDRESS',
      );
    }
  });

  it('reports names that do not resolve as DNS_FAILED', async () => {
    const dns = fakeDns({ 'empty.test': [] });
    expect(await codeOf(safeFetch('http://nowhere.test/', { resolver: dns.resolver }))).toBe(
      'DNS_FAILED',
    );
    expect(await codeOf(safeFetch('http://empty.test/', { resolver: dns.resolver }))).toBe(
      'DNS_FAILED',
    );
  });

  it('checks the address it connects to: a rebinding answer after the first cannot get in', async () => {
    let answers = 0;
    const rebinding = fakeDns({
      // First answer: the (allow-listed) test server; every later one: the metadata service.
      'rebind.test': () => (answers++ === 0 ? ['127.0.0.1'] : ['169.254.169.254']),
    });
    const page = await safeFetch(`http://rebind.test:${server.port}/page`, {
      ...allowed,
      resolver: rebinding.resolver,
    });
    expect(page.body.toString()).toBe('<title>ok</title>');
    expect(rebinding.calls).toEqual(['rebind.test']);

    answers = 0;
    const before = server.connections();
    const reverse = fakeDns({
      'rebind.test': () => (answers++ === 0 ? ['169.254.169.254'] : ['127.0.0.1']),
    });
    expect(
      await codeOf(
        safeFetch(`http://rebind.test:${server.port}/page`, {
          ...allowed,
          resolver: reverse.resolver,
        }),
      ),
    ).toBe('BLOCKED_ADDRESS');
    expect(reverse.calls).toEqual(['rebind.test']);
    expect(server.connections()).toBe(before);
  });

  it('re-checks every redirect target: address, scheme and port', async () => {
    const dns = fakeDns({ 'internal.test': ['10.0.0.5'], 'site.test': ['127.0.0.1'] });
    server.route('/to-metadata', redirect('http://169.254.169.254/latest/meta-data/'));
    // 2130706434 is 127.0.0.2: loopback, and not the allow-listed 127.0.0.1.
    server.route('/to-decimal', redirect(`http://2130706434:${server.port}/page`));
    server.route('/to-mapped', redirect(`http://[::ffff:7f00:2]:${server.port}/page`));
    server.route('/to-file', redirect('file:///etc/passwd'));
    server.route('/to-port', redirect(`http://127.0.0.1:${server.port + 1}/page`));
    server.route('/to-internal-name', redirect('http://internal.test/'));
    const expectations: Record<string, string> = {
      '/to-metadata': 'BLOCKED_ADDRESS',
      '/to-decimal': 'BLOCKED_ADDRESS',
      '/to-mapped': 'BLOCKED_ADDRESS',
      '/to-file': 'BLOCKED_SCHEME',
      '/to-port': 'BLOCKED_PORT',
      '/to-internal-name': 'BLOCKED_ADDRESS',
    };
    for (const [path, code] of Object.entries(expectations)) {
      const result = await codeOf(
        safeFetch(`http://site.test:${server.port}${path}`, { ...allowed, resolver: dns.resolver }),
      );
      expect(result, path).toBe(code);
    }
    expect(dns.calls).toContain('internal.test');
  });

  it('follows at most three redirects', async () => {
    server.route('/r1', redirect('/r2', 301));
    server.route('/r2', redirect('/r3', 307));
    server.route('/r3', redirect('/page', 308));
    server.route('/r0', redirect('/r1', 303));
    const three = await safeFetch(`${server.origin}/r1`, allowed);
    expect(three.redirects).toHaveLength(3);
    expect(three.url).toBe(`${server.origin}/page`);
    expect(await codeOf(safeFetch(`${server.origin}/r0`, allowed))).toBe('TOO_MANY_REDIRECTS');
  });

  it('does not treat the unsafe allowlist as on by default', async () => {
    expect(await codeOf(safeFetch(`${server.origin}/page`))).toBe('BLOCKED_PORT');
    expect(await codeOf(safeFetch(`${server.origin}/page`, portOnly))).toBe('BLOCKED_ADDRESS');
    expect(await codeOf(safeFetch(`${server.origin}/page`, allowed))).toBe('fetched');
  });
});
