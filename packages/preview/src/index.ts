export { PreviewError, type PreviewErrorCode } from './errors.js';
export { blockedReason, isIpLiteral } from './address-policy.js';
export {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  checkUrl,
  safeFetch,
  type ResolvedAddress,
  type Resolver,
  type SafeFetchOptions,
  type SafeFetchResult,
} from './safe-fetch.js';
export { decodeHtml } from './charset.js';
export { extractMetadata, type ExtractOptions, type PageMetadata } from './extract.js';
export { fetchPreview, type FetchPreviewOptions, type LinkPreview } from './preview.js';
export { isLinkPreviewBot } from './crawlers.js';
export { renderPreviewPage, type PreviewPageInput } from './render.js';
