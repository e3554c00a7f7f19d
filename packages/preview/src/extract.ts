import { Parser } from 'htmlparser2';

/** What a link preview shows. Every field is optional: pages often lack some. */
export interface PageMetadata {
  readonly title?: string;
  readonly description?: string;
  /** Absolute http(s) URL of the preview image. */
  readonly image?: string;
  readonly imageAlt?: string;
  readonly siteName?: string;
  /** Absolute http(s) URL of the page's icon. */
  readonly icon?: string;
  /** The page's canonical URL (og:url or rel=canonical), absolute. */
  readonly canonicalUrl?: string;
  /** og:type, e.g. `article`. */
  readonly type?: string;
}

export interface ExtractOptions {
  /** Longest title kept, in characters. Default 300. */
  readonly maxTitleLength?: number;
  /** Longest description kept. Default 1000. */
  readonly maxDescriptionLength?: number;
  /** Longest site name kept. Default 200. */
  readonly maxSiteNameLength?: number;
  /** Longest URL kept; longer ones are dropped, not cut. Default 2048. */
  readonly maxUrlLength?: number;
}

/**
 * Extracts preview metadata from an HTML document, preferring OpenGraph, then Twitter
 * cards, then plain HTML: `og:title` → `twitter:title` → `<title>`; `og:description` →
 * `twitter:description` → `<meta name=description>`; `og:image` → `twitter:image` →
 * `<link rel=image_src>`; `og:site_name` → `application-name`. Relative URLs are resolved
 * against `<base href>` or `pageUrl`; only http(s) URLs are kept. Entities are decoded,
 * whitespace collapsed, and lengths capped (with an ellipsis).
 *
 * @example
 * extractMetadata('<meta property="og:title" content="Hi &amp; bye">', 'https://a.example/');
 * // { title: 'Hi & bye' }
 */
export function extractMetadata(
  html: string,
  pageUrl: string,
  options: ExtractOptions = {},
): PageMetadata {
  const meta = new Map<string, string>();
  const links: { rel: string[]; href: string; sizes: string }[] = [];
  let base: string | undefined;
  let title: string | undefined;
  let inTitle = false;
  let inSvg = 0;
  let titleText = '';

  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'svg') inSvg += 1;
        if (inSvg > 0) return;
        if (name === 'title' && title === undefined) {
          inTitle = true;
          titleText = '';
        } else if (name === 'meta') {
          const key = (attributes['property'] ?? attributes['name'] ?? '').trim().toLowerCase();
          const content = attributes['content'];
          // First wins: pages that repeat a tag put the intended one first.
          if (key !== '' && content !== undefined && !meta.has(key)) meta.set(key, content);
        } else if (name === 'link' && attributes['href'] !== undefined) {
          links.push({
            rel: (attributes['rel'] ?? '').toLowerCase().split(/\s+/).filter(Boolean),
            href: attributes['href'],
            sizes: attributes['sizes'] ?? '',
          });
        } else if (name === 'base' && base === undefined && attributes['href'] !== undefined) {
          base = attributes['href'];
        }
      },
      ontext(text) {
        if (inTitle) titleText += text;
      },
      onclosetag(name) {
        if (name === 'svg' && inSvg > 0) inSvg -= 1;
        if (name === 'title' && inTitle) {
          inTitle = false;
          title = titleText;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (inTitle) title = titleText;

  const maxUrl = options.maxUrlLength ?? 2048;
  const baseUrl = absolute(base, pageUrl, maxUrl) ?? pageUrl;
  const pick = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = meta.get(key);
      if (value !== undefined && clean(value) !== '') return value;
    }
    return undefined;
  };
  const pickUrl = (...candidates: (string | undefined)[]): string | undefined => {
    for (const candidate of candidates) {
      const url = absolute(candidate, baseUrl, maxUrl);
      if (url !== undefined) return url;
    }
    return undefined;
  };
  const link = (...rels: string[]): string | undefined =>
    links.find((l) => rels.some((r) => l.rel.includes(r)))?.href;
  const icon = pickUrl(
    links.find((l) => l.rel.includes('icon') && !l.rel.includes('mask'))?.href,
    link('apple-touch-icon', 'apple-touch-icon-precomposed'),
  );

  const result: Record<string, string> = {};
  const put = (key: keyof PageMetadata, value: string | undefined, max?: number): void => {
    if (value === undefined) return;
    const text = max === undefined ? value : limit(clean(value), max);
    if (text !== '') result[key] = text;
  };
  put(
    'title',
    pick('og:title', 'twitter:title') ?? title ?? pick('title'),
    options.maxTitleLength ?? 300,
  );
  put(
    'description',
    pick('og:description', 'twitter:description', 'description'),
    options.maxDescriptionLength ?? 1000,
  );
  put(
    'image',
    pickUrl(
      meta.get('og:image:secure_url'),
      meta.get('og:image'),
      meta.get('og:image:url'),
      meta.get('twitter:image'),
      meta.get('twitter:image:src'),
      link('image_src'),
    ),
  );
  put('imageAlt', pick('og:image:alt', 'twitter:image:alt'), options.maxDescriptionLength ?? 1000);
  put('siteName', pick('og:site_name', 'application-name'), options.maxSiteNameLength ?? 200);
  put('icon', icon);
  put('canonicalUrl', pickUrl(meta.get('og:url'), link('canonical')));
  put('type', pick('og:type'), 50);
  return result as PageMetadata;
}

/** Resolves `value` against `base`; only http(s) URLs of bounded length survive. */
function absolute(value: string | undefined, base: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  try {
    const url = new URL(trimmed, base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (url.username !== '' || url.password !== '') return undefined;
    return url.href.length <= max ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Collapses whitespace and drops control characters. */
function clean(text: string): string {
  return Array.from(text, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code < 0x20 || (code >= 0x7f && code < 0xa0) ? ' ' : c;
  })
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Cuts to `max` code points, ending with an ellipsis when cut. */
function limit(text: string, max: number): string {
  const points = Array.from(text);
  if (points.length <= max) return text;
  return (
    points
      .slice(0, max - 1)
      .join('')
      .trimEnd() + '…'
  );
}
