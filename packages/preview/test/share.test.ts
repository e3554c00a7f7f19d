import { describe, expect, it } from 'vitest';
import {
  PreviewError,
  extractMetadata,
  isLinkPreviewBot,
  renderPreviewPage,
} from '../src/index.js';

describe('isLinkPreviewBot', () => {
  it('recognises the preview fetchers of social networks and chat apps', () => {
    for (const ua of [
      'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
      'Twitterbot/1.0',
      'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)',
      'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
      'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
      'TelegramBot (like TwitterBot)',
      'WhatsApp/2.23.20.0',
      'Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5',
      'http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)',
      'Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)',
    ]) {
      expect(isLinkPreviewBot(ua), ua).toBe(true);
    }
  });

  it('leaves browsers, in-app browsers and search crawlers to the redirect', () => {
    for (const ua of [
      undefined,
      '',
      'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Line/13.1.0',
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'curl/8.5.0',
    ]) {
      expect(isLinkPreviewBot(ua), String(ua)).toBe(false);
    }
  });
});

describe('renderPreviewPage', () => {
  const input = {
    url: 'https://lf.example/abc',
    target: 'https://news.example/articles/42',
    title: 'Title "with" <b>markup</b> & more',
    description: "It's <script>alert(1)</script>",
    image: 'https://cdn.example/cover.png',
    siteName: 'News',
  };

  it('escapes every value, so markup in a title stays text', () => {
    const page = renderPreviewPage(input);
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<b>');
    expect(page).toContain('&#34;with&#34; &#60;b&#62;markup&#60;/b&#62; &#38; more');
  });

  it('round-trips through the extractor', () => {
    const page = renderPreviewPage(input);
    expect(extractMetadata(page, input.url)).toEqual({
      title: input.title,
      description: input.description,
      image: input.image,
      siteName: 'News',
      type: 'website',
      canonicalUrl: input.url,
    });
  });

  it('writes only http(s) URLs into attributes', () => {
    expect(() => renderPreviewPage({ ...input, target: 'javascript:alert(1)' })).toThrow(
      PreviewError,
    );
    const page = renderPreviewPage({ ...input, image: 'javascript:alert(1)' });
    expect(page).not.toContain('javascript:');
    expect(page).toContain('content="summary"');
  });

  it('falls back to the target as title', () => {
    const page = renderPreviewPage({ url: input.url, target: input.target });
    expect(extractMetadata(page, input.url).title).toBe(input.target);
  });
});
