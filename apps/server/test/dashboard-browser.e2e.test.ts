import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt } from './dashboard-build.js';
import { ADMIN_KEY, auth, startService, type TestService } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// The UI polls and debounces; on a loaded CI machine a step may take seconds.
const SLOW = { timeout: 15_000 };
// A desktop browser's user agent: HeadlessChrome is a bot to the click counter, on purpose.
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const SCREENSHOTS = process.env['UPDATE_SCREENSHOTS']
  ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
  : undefined;

/** A real PNG (8-bit RGB, a soft gradient) for the upload, made here with zlib. */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      rows.set(
        [Math.round(67 + 120 * t), Math.round(56 + 90 * t), Math.round(202 + 40 * t)],
        row + 1 + x * 3,
      );
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
const PNG = gradientPng(240, 160);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether a route exists on this build: features other issues add show up when they land. */
async function hasRoute(svc: TestService, method: 'GET' | 'POST', url: string): Promise<boolean> {
  const res = await svc.built.app.inject({
    method,
    url,
    headers: auth(),
    payload: method === 'POST' ? {} : undefined,
  });
  return !(
    res.statusCode === 404 && /^No route /.test(res.json<{ detail?: string }>().detail ?? '')
  );
}

describe('dashboard in Chromium', { timeout: 120_000 }, () => {
  let svc: TestService;
  let base: string;
  let target: Server;
  let targetUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDir: string;
  const shots = mkdtempSync(join(tmpdir(), 'lf-shots-'));

  const shot = async (p: Page, name: string) => {
    // A screenshot shows the top of the screen at rest: no focus ring, no passing toasts.
    await p.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    await expect.poll(() => p.locator('.toast').count(), { timeout: 10_000 }).toBe(0);
    await p.screenshot({ path: join(SCREENSHOTS ?? shots, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    ensureDashboardBuilt();
    // The destination site of the short links: a local page, so the browser never leaves
    // this machine.
    target = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<title>Landing</title><h1>Landing page</h1>');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://localhost:${(target.address() as AddressInfo).port}/landing`;

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    svc = await startService('embedded', { PUBLIC_BASE_URL: base, RATE_LIMIT_ENABLED: 'false' });
    await svc.built.app.listen({ port, host: '127.0.0.1' });

    userDir = mkdtempSync(join(tmpdir(), 'lf-chromium-'));
    // A persistent context on a fresh profile directory: nothing carries over between runs.
    context = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      userAgent: USER_AGENT,
      viewport: { width: 1280, height: 860 },
    });
    page = await context.newPage();
    if (SCREENSHOTS !== undefined) mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await svc?.close();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    rmSync(userDir, { recursive: true, force: true });
    rmSync(shots, { recursive: true, force: true });
  });

  it('refuses a wrong key, then signs in with a valid one', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('API key').fill('lf_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.locator('#api-key-error').textContent(), SLOW)
      .toContain('unknown or revoked');
    await shot(page, 'sign-in');
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Links', exact: true }).waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'lf_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    // The page cannot read the session cookie.
    expect(await page.evaluate(() => document.cookie)).not.toContain('lf_session');
  });

  it('validates while typing, creates a link, and lists it', async () => {
    await page.getByLabel('Destination URL').fill('ftp://example.com/file');
    await page.getByLabel('Custom alias (optional)').fill('ab');
    await expect
      .poll(() => page.locator('#new-url-error').textContent(), SLOW)
      .toContain('Only http and https');
    expect(await page.locator('#new-alias-error').textContent()).toContain('At least 3 characters');
    expect(await page.getByLabel('Custom alias (optional)').getAttribute('aria-invalid')).toBe(
      'true',
    );
    await page.getByLabel('Custom alias (optional)').fill('docs');
    await expect
      .poll(() => page.locator('#new-alias-error').textContent(), SLOW)
      .toContain('reserved');

    await page.getByLabel('Destination URL').fill(targetUrl);
    await page.getByLabel('Custom alias (optional)').fill('landing');
    await page.getByLabel('Title (optional)').fill('Landing page');
    await page.getByLabel('Tags (optional)').fill('launch, web');
    await page.getByLabel('Max clicks (optional)').fill('100');
    await page.getByRole('button', { name: 'Create link' }).click();
    await page.getByText('New link:').waitFor();
    await page.locator('tr[data-code="landing"]').waitFor();
    expect(await page.locator('#new-url').inputValue()).toBe('');

    const res = await svc.built.app.inject({
      method: 'GET',
      url: '/api/v1/links/landing',
      headers: auth(),
    });
    expect(res.json()).toMatchObject({ url: targetUrl, maxClicks: 100, tags: ['launch', 'web'] });

    // A taken alias is reported next to the alias field.
    await page.getByLabel('Destination URL').fill(targetUrl);
    await page.getByLabel('Custom alias (optional)').fill('landing');
    await page.getByRole('button', { name: 'Create link' }).click();
    await expect
      .poll(() => page.locator('#new-alias-error').textContent(), SLOW)
      .toMatch(/taken|already/i);
    await page.getByLabel('Custom alias (optional)').fill('');
    await page.getByLabel('Destination URL').fill('');
  });

  it('searches and filters the list', async () => {
    for (let i = 0; i < 3; i++) {
      await svc.built.app.inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: `https://docs.example/guide/${i}`, title: `Guide ${i}`, tags: ['docs'] },
      });
    }
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByLabel('Search').fill('Landing');
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(1);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Tag', { exact: true }).fill('docs');
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(3);
    await page.getByLabel('Tag', { exact: true }).fill('');
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(4);
  });

  it('pages through many links with "Load more" (keyset paging), without duplicates', async () => {
    const bulk = await svc.built.app.inject({
      method: 'POST',
      url: '/api/v1/links/bulk',
      headers: auth(),
      payload: {
        links: Array.from({ length: 25 }, (_, i) => ({
          url: `https://many.example/${i}`,
          tags: ['many'],
        })),
      },
    });
    expect(bulk.json()).toMatchObject({ created: 25 });
    await page.getByLabel('Tag', { exact: true }).fill('many');
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(25);
    const codes = await page
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-code')));
    expect(new Set(codes).size).toBe(25);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    // Tidy up, so the later screens show the links a person made.
    for (const code of codes) {
      await svc.built.app.inject({
        method: 'DELETE',
        url: `/api/v1/links/${code}`,
        headers: auth(),
      });
    }
    await page.getByLabel('Tag', { exact: true }).fill('');
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(4);
  });

  it('copies a short URL to the clipboard', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page
      .locator('tr[data-code="landing"]')
      .getByRole('button', { name: /^Copy / })
      .click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${base}/landing`);
  });

  it('switches to "Share a file" by keyboard and makes a file link (or says uploads are off)', async () => {
    await page.getByRole('tab', { name: 'Shorten a URL' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(
      await page.getByRole('tab', { name: 'Share a file' }).getAttribute('aria-selected'),
    ).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-file');
    await page.locator('#file-link-upload').setInputFiles({
      name: 'report.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from(
        '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n',
      ),
    });
    const status = page.locator('#file-link-upload-status');
    if (await hasRoute(svc, 'POST', '/api/v1/uploads')) {
      await expect
        .poll(() => status.textContent(), { timeout: 20_000 })
        .toContain('Uploaded report.pdf');
      await page.getByText('New link:').waitFor();
    } else {
      await expect
        .poll(() => status.textContent(), SLOW)
        .toContain('Uploads are not enabled on this server yet.');
    }
    await page.getByRole('tab', { name: 'Shorten a URL' }).click();
  });

  it('follows the short link to its destination and shows the click', async () => {
    const visitor = await context.newPage();
    await visitor.goto(`${base}/landing`);
    expect(visitor.url()).toBe(targetUrl);
    expect(await visitor.locator('h1').textContent()).toBe('Landing page');
    await visitor.close();

    await page.locator('tr[data-code="landing"] a.code').click();
    await page.getByRole('heading', { name: /landing$/ }).waitFor();
    if (await hasRoute(svc, 'GET', '/api/v1/analytics')) {
      // The analytics panel refreshes itself: the click appears without a reload.
      await expect
        .poll(() => page.getByTestId('total-clicks').textContent(), { timeout: 30_000 })
        .toBe('1');
      expect(await page.locator('.chart rect.bar title').allTextContents()).toContainEqual(
        expect.stringMatching(/: 1 click$/),
      );
      // A click made while the page is open shows up without a reload.
      const reloads: string[] = [];
      page.on('framenavigated', (f) => reloads.push(f.url()));
      await svc.built.app.inject({
        method: 'GET',
        url: '/landing',
        headers: { 'user-agent': USER_AGENT },
      });
      await expect
        .poll(() => page.getByTestId('total-clicks').textContent(), { timeout: 30_000 })
        .toBe('2');
      expect(reloads).toEqual([]);
      // The range picker: the last 24 hours in hourly buckets.
      await page.getByRole('button', { name: '24 hours' }).click();
      await expect
        .poll(() => page.locator('.chart rect.bar').count(), SLOW)
        .toBeGreaterThanOrEqual(24);
      expect(
        await page.getByRole('button', { name: '24 hours' }).getAttribute('aria-pressed'),
      ).toBe('true');
      expect(await page.getByTestId('total-clicks').textContent()).toBe('2');
    } else {
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.locator('.link-clicks').textContent();
          },
          { timeout: 15_000 },
        )
        .toBe('1');
      expect(await page.getByText('Detailed analytics are not available').count()).toBe(1);
    }
  });

  it('shows the QR code when the server makes them, and a notice otherwise', async () => {
    if (await hasRoute(svc, 'GET', '/api/v1/links/landing/qr?format=svg')) {
      const img = page.getByAltText(/QR code for/);
      await expect
        .poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth), SLOW)
        .toBeGreaterThan(0);
      expect(await page.getByRole('link', { name: 'Download PNG' }).getAttribute('download')).toBe(
        'landing.png',
      );
    } else {
      await page.getByText('QR codes are not available on this server yet.').waitFor();
    }
  });

  it('refuses a dropped file of the wrong type before uploading, then uploads an image', async () => {
    const drop = async (name: string, type: string, bytes: number[]) => {
      const dataTransfer = await page.evaluateHandle(
        ([n, t, b]) => {
          const dt = new DataTransfer();
          dt.items.add(
            new File([new Uint8Array(b as number[])], n as string, { type: t as string }),
          );
          return dt;
        },
        [name, type, bytes] as const,
      );
      await page.locator('label[for="preview-upload"]').dispatchEvent('drop', { dataTransfer });
    };
    await drop('notes.txt', 'text/plain', [104, 105]);
    await expect
      .poll(() => page.locator('#preview-upload-status').textContent(), SLOW)
      .toContain('is not a PNG');

    await drop('pixel.png', 'image/png', [...PNG]);
    if (await hasRoute(svc, 'POST', '/api/v1/uploads')) {
      await expect
        .poll(() => page.locator('#preview-upload-status').textContent(), { timeout: 20_000 })
        .toContain('Uploaded pixel.png');
      await expect.poll(() => page.locator('img.preview-image').count(), SLOW).toBe(1);
    } else {
      await expect
        .poll(() => page.locator('#preview-upload-status').textContent(), SLOW)
        .toContain('Uploads are not enabled on this server yet.');
    }
    await shot(page, 'link-detail-desktop');
  });

  it('edits the link, with the change saved on the server', async () => {
    await page.getByLabel('Title (optional)').fill('Landing page, edited');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Changes saved.').waitFor();
    const res = await svc.built.app.inject({
      method: 'GET',
      url: '/api/v1/links/landing',
      headers: auth(),
    });
    expect(res.json()).toMatchObject({ title: 'Landing page, edited' });
  });

  it('creates a key shown once, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByLabel('Name').fill('newsletter-bot');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(secret).toMatch(/^lf_[0-9A-Za-z]{43}$/);
    const works = await svc.built.app.inject({
      method: 'GET',
      url: '/api/v1/links',
      headers: auth(secret),
    });
    expect(works.statusCode).toBe(200);
    await shot(page, 'keys-desktop');

    await page.getByRole('button', { name: 'Revoke key newsletter-bot' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await expect
      .poll(
        () => page.locator('tr', { hasText: 'newsletter-bot' }).locator('.badge').textContent(),
        SLOW,
      )
      .toBe('revoked');
    const refused = await svc.built.app.inject({
      method: 'GET',
      url: '/api/v1/links',
      headers: auth(secret),
    });
    expect(refused.statusCode).toBe(401);
  });

  it('deletes a link after confirmation; its short URL then answers 410', async () => {
    await page.getByRole('link', { name: 'Links', exact: true }).click();
    await page.getByLabel('Tag', { exact: true }).fill('docs');
    await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(3);
    const row = page.locator('tbody tr').first();
    const code = (await row.getAttribute('data-code')) ?? '';
    await row.getByRole('button', { name: /^Delete / }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete link' }).click();
    await expect.poll(() => page.locator(`tr[data-code="${code}"]`).count(), SLOW).toBe(0);
    expect((await svc.built.app.inject({ method: 'GET', url: `/${code}` })).statusCode).toBe(410);
    await page.getByLabel('Tag', { exact: true }).fill('');
  });

  it('labels every control, and fits a phone screen without sideways scrolling', async () => {
    const unlabeled = async () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('input, select, textarea, button'))
          .filter((el) => {
            const e = el as HTMLInputElement;
            if (e.type === 'hidden') return false;
            const name = e.labels?.length || e.getAttribute('aria-label') || e.textContent?.trim();
            return !name;
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
    // Some traffic from several kinds of visitors, so the screens show what they look like in use.
    const agents = [
      USER_AGENT,
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
    ];
    const referrers = [
      'https://news.example/',
      'https://social.example/post/1',
      'https://search.example/?q=x',
    ];
    for (let i = 0; i < 24; i++) {
      const headers: Record<string, string> = { 'user-agent': agents[i % agents.length]! };
      if (i % 4 !== 0) headers['referer'] = referrers[i % referrers.length]!;
      await svc.built.app.inject({ method: 'GET', url: '/landing', headers });
    }
    await page.getByRole('button', { name: 'Refresh' }).click();
    await shot(page, 'links-desktop');
    expect(await unlabeled()).toEqual([]);

    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, name] of [
      ['#/links', 'links-phone'],
      ['#/links/landing', 'link-detail-phone'],
      ['#/analytics', 'analytics-phone'],
      ['#/keys', 'keys-phone'],
    ] as const) {
      await page.goto(`${base}/${hash}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow, name).toBeLessThanOrEqual(0);
      expect(await unlabeled(), name).toEqual([]);
      await shot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${base}/#/analytics`);
    await page.locator('main h1').waitFor();
    await page.waitForLoadState('networkidle');
    await shot(page, 'analytics-desktop');
  });

  it('signs out: the session ends on the server too', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'lf_session')!;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Linkforge' }).waitFor();
    const res = await svc.built.app.inject({
      method: 'GET',
      url: '/api/v1/links',
      headers: { cookie: `lf_session=${cookie.value}` },
    });
    expect(res.statusCode).toBe(401);
  });
});
