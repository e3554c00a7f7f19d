import { PreviewError } from './errors.js';

export interface PreviewPageInput {
  /** The short URL being shared (og:url). */
  readonly url: string;
  /** Where the short link leads; linked from the page. Must be http(s). */
  readonly target: string;
  readonly title?: string;
  readonly description?: string;
  /** Absolute http(s) image URL; anything else is left out. */
  readonly image?: string;
  readonly imageAlt?: string;
  readonly siteName?: string;
}

/**
 * Renders the small HTML page served to link-preview bots for a short link: OpenGraph and
 * Twitter card tags from the (possibly user-overridden) preview, and a plain link to the
 * target. Every value is HTML-escaped, so a title such as `"><script>` stays text, and
 * only http(s) URLs are written into attributes.
 *
 * @example
 * reply.type('text/html').send(renderPreviewPage({ url: 'https://lf.example/abc', target, title }));
 */
export function renderPreviewPage(input: PreviewPageInput): string {
  const target = httpUrl(input.target);
  const url = httpUrl(input.url);
  if (target === undefined || url === undefined) {
    throw new PreviewError('INVALID_URL', 'url and target must be absolute http(s) URLs');
  }
  const image = input.image === undefined ? undefined : httpUrl(input.image);
  const title = input.title ?? target;
  const tags: [string, string, string | undefined][] = [
    ['property', 'og:type', 'website'],
    ['property', 'og:url', url],
    ['property', 'og:title', title],
    ['property', 'og:description', input.description],
    ['property', 'og:image', image],
    ['property', 'og:image:alt', image === undefined ? undefined : input.imageAlt],
    ['property', 'og:site_name', input.siteName],
    ['name', 'twitter:card', image === undefined ? 'summary' : 'summary_large_image'],
    ['name', 'twitter:title', title],
    ['name', 'twitter:description', input.description],
    ['name', 'twitter:image', image],
    ['name', 'description', input.description],
  ];
  const meta = tags
    .filter((tag): tag is [string, string, string] => tag[2] !== undefined && tag[2] !== '')
    .map(
      ([attribute, name, content]) => `<meta ${attribute}="${name}" content="${escape(content)}">`,
    )
    .join('\n');
  return `<!doctype html>
<html><head>
<meta charset="utf-8">
<title>${escape(title)}</title>
${meta}
<link rel="canonical" href="${escape(url)}">
<meta name="robots" content="noindex">
</head><body>
<p><a href="${escape(target)}" rel="noopener noreferrer nofollow">${escape(target)}</a></p>
</body></html>
`;
}

function httpUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
