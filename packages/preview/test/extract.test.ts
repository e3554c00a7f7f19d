import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHtml, extractMetadata, fetchPreview } from '../src/index.js';
import { html, redirect, startTestServer, type TestServer } from './support/server.js';

const PAGE = 'https://news.example/articles/42?ref=x';

describe('extractMetadata', () => {
  it('prefers OpenGraph over Twitter over plain HTML', () => {
    const doc = `<html><head>
      <title>HTML title</title>
      <meta name="description" content="HTML description">
      <meta name="twitter:title" content="Twitter title">
      <meta name="twitter:description" content="Twitter description">
      <meta name="twitter:image" content="/twitter.png">
      <meta property="og:title" content="OG title">
      <meta property="og:description" content="OG description">
      <meta property="og:image" content="https://cdn.example/og.png">
      <meta property="og:site_name" content="News Example">
      <meta property="og:type" content="article">
      <meta property="og:url" content="https://news.example/articles/42">
      <link rel="icon" href="/favicon.svg">
    </head><body></body></html>`;
    expect(extractMetadata(doc, PAGE)).toEqual({
      title: 'OG title',
      description: 'OG description',
      image: 'https://cdn.example/og.png',
      siteName: 'News Example',
      type: 'article',
      canonicalUrl: 'https://news.example/articles/42',
      icon: 'https://news.example/favicon.svg',
    });
  });

  it('falls back to Twitter cards, then to <title> and meta description', () => {
    const twitter = `<meta name="twitter:title" content="T"><meta name="twitter:image:src" content="img/t.jpg"><title>H</title>`;
    expect(extractMetadata(twitter, PAGE)).toEqual({
      title: 'T',
      image: 'https://news.example/articles/img/t.jpg',
    });
    const plain = `<title> Plain   page </title><meta name="description" content="About it">
      <link rel="apple-touch-icon" href="/touch.png"><link rel="canonical" href="/a/42">`;
    expect(extractMetadata(plain, PAGE)).toEqual({
      title: 'Plain page',
      description: 'About it',
      icon: 'https://news.example/touch.png',
      canonicalUrl: 'https://news.example/a/42',
    });
  });

  it('decodes entities and collapses whitespace', () => {
    const doc = `<title>Tom &amp; Jerry&#39;s &eacute;t&eacute; &#x1F600;</title>
      <meta property="og:description" content="line one
         line&nbsp;two &lt;b&gt;">`;
    expect(extractMetadata(doc, PAGE)).toEqual({
      title: "Tom & Jerry's été 😀",
      description: 'line one line two <b>',
    });
  });

  it('resolves relative URLs against <base href> and keeps only http(s) ones', () => {
    const doc = `<base href="https://static.example/assets/"><meta property="og:image" content="hero.jpg">
      <link rel="icon" href="javascript:alert(1)"><link rel="shortcut icon" href="data:image/png;base64,AA">`;
    expect(extractMetadata(doc, PAGE)).toEqual({ image: 'https://static.example/assets/hero.jpg' });
    const bad = `<meta property="og:image" content="javascript:alert(1)"><meta name="twitter:image" content="//cdn.example/x.png">`;
    expect(extractMetadata(bad, PAGE)).toEqual({ image: 'https://cdn.example/x.png' });
  });

  it('caps lengths with an ellipsis and drops over-long URLs', () => {
    const doc = `<title>${'a'.repeat(500)}</title><meta name="description" content="${'é'.repeat(2000)}">
      <meta property="og:image" content="https://x.example/${'p'.repeat(3000)}">`;
    const meta = extractMetadata(doc, PAGE);
    expect(Array.from(meta.title ?? '')).toHaveLength(300);
    expect(meta.title?.endsWith('…')).toBe(true);
    expect(Array.from(meta.description ?? '')).toHaveLength(1000);
    expect(meta.image).toBeUndefined();
    expect(extractMetadata(doc, PAGE, { maxTitleLength: 10 }).title).toBe('aaaaaaaaa…');
  });

  it('ignores <title> inside inline SVG and keeps the first of repeated tags', () => {
    const doc = `<svg><title>icon</title></svg><title>Real</title>
      <meta property="og:title" content=""><meta property="og:site_name" content="First"><meta property="og:site_name" content="Second">`;
    expect(extractMetadata(doc, PAGE)).toEqual({ title: 'Real', siteName: 'First' });
  });

  it('returns nothing for a page without metadata', () => {
    expect(extractMetadata('<p>hello</p>', PAGE)).toEqual({});
  });
});

describe('decodeHtml', () => {
  it('uses the charset from the Content-Type header', () => {
    const bytes = Buffer.from([0x3c, 0x74, 0x3e, 0x43, 0x61, 0x66, 0xe9]); // "<t>Café" in windows-1252
    expect(decodeHtml(bytes, 'text/html; charset=windows-1252')).toBe('<t>Café');
    expect(decodeHtml(bytes, 'text/html; charset="ISO-8859-1"')).toBe('<t>Café');
  });

  it('finds <meta charset> and http-equiv declarations in the first 1024 bytes', () => {
    const sjis = Buffer.concat([
      Buffer.from('<meta charset="shift_jis"><title>'),
      Buffer.from([0x93, 0xfa, 0x96, 0x7b]), // 日本
      Buffer.from('</title>'),
    ]);
    expect(extractMetadata(decodeHtml(sjis, 'text/html'), PAGE).title).toBe('日本');
    const equiv = Buffer.concat([
      Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><title>'),
      Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]), // Привет
      Buffer.from('</title>'),
    ]);
    expect(extractMetadata(decodeHtml(equiv), PAGE).title).toBe('Привет');
  });

  it('lets a byte-order mark win and falls back to UTF-8 for unknown labels', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<t>ü')]);
    expect(decodeHtml(bom, 'text/html; charset=windows-1252')).toBe('<t>ü');
    expect(decodeHtml(Buffer.from('<t>ü'), 'text/html; charset=x-no-such-charset')).toBe('<t>ü');
  });
});

describe('fetchPreview', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('fetches, decodes and extracts, resolving URLs against the final page after redirects', async () => {
    server.route('/short', redirect('/blog/post'));
    server.route(
      '/blog/post',
      html(
        Buffer.concat([
          Buffer.from('<head><meta property="og:title" content="Caf'),
          Buffer.from([0xe9]),
          Buffer.from('"><meta property="og:image" content="../img/cover.png"></head>'),
        ]),
        'text/html; charset=windows-1252',
      ),
    );
    const preview = await fetchPreview(`${server.origin}/short`, {
      unsafeAllowPorts: [server.port],
      unsafeAllowAddresses: ['127.0.0.1'],
    });
    expect(preview).toEqual({
      url: `${server.origin}/blog/post`,
      title: 'Café',
      image: `${server.origin}/img/cover.png`,
    });
  });

  it('previews a page longer than the cap from its first 2 MiB', async () => {
    const head = '<head><meta property="og:title" content="Big page"></head><body>';
    server.route('/big', html(head + 'x'.repeat(3 * 1024 * 1024) + '</body>'));
    const preview = await fetchPreview(`${server.origin}/big`, {
      unsafeAllowPorts: [server.port],
      unsafeAllowAddresses: ['127.0.0.1'],
    });
    expect(preview.title).toBe('Big page');
  });
});
