import { decodeHtml } from './charset.js';
import { extractMetadata, type ExtractOptions, type PageMetadata } from './extract.js';
import { safeFetch, type SafeFetchOptions } from './safe-fetch.js';

export interface LinkPreview extends PageMetadata {
  /** The URL the page was finally read from, after redirects. */
  readonly url: string;
}

export type FetchPreviewOptions = SafeFetchOptions & ExtractOptions;

/**
 * Fetches a page with {@link safeFetch}, decodes it with {@link decodeHtml} and extracts
 * its preview with {@link extractMetadata}. Refusals and failures throw `PreviewError`.
 * Unlike `safeFetch`, a page longer than `maxBytes` is read only up to the cap and still
 * previewed (`truncate` defaults to true here): the metadata lives in the `<head>`.
 *
 * @example
 * const preview = await fetchPreview('https://example.com/post/1');
 * // { url, title, description, image, siteName, icon, ... }
 */
export async function fetchPreview(
  url: string,
  options: FetchPreviewOptions = {},
): Promise<LinkPreview> {
  const page = await safeFetch(url, { truncate: true, ...options });
  const html = decodeHtml(page.body, page.contentType);
  return { url: page.url, ...extractMetadata(html, page.url, options) };
}
