export { sortFile, sortStream, createSortStream } from './sort-file.js';
export { checkSorted } from './check.js';
export type { CheckResult } from './check.js';
export { ExtsortError } from './errors.js';
export type { ExtsortErrorCode } from './errors.js';
export { parseSize, DEFAULT_BUFFER_SIZE } from './options.js';
export type { SortOptions, SortProgress } from './options.js';
export type { SortStats } from './engine.js';
