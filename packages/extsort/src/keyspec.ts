import { ExtsortError } from './errors.js';

/**
 * One sort key, in GNU sort's internal form: zero-based field/char positions,
 * `-1` meaning "the whole line" (sword) or "to the end of the line" (eword).
 */
export interface KeyField {
  sword: number;
  schar: number;
  eword: number;
  echar: number;
  skipStartBlanks: boolean;
  skipEndBlanks: boolean;
  numeric: boolean;
  reverse: boolean;
}

/** Everything a comparator needs; plain data so it can cross into worker threads. */
export interface CompareConfig {
  keys: KeyField[];
  /** Field separator byte, or -1 for GNU's default (blank-to-non-blank transitions). */
  tab: number;
  reverse: boolean;
  unique: boolean;
  stable: boolean;
  /** Dotted path into each JSON line; when set it is the (only) key. */
  jsonPath: string[] | null;
  jsonNumeric: boolean;
  strict: boolean;
}

export interface GlobalOrdering {
  numeric: boolean;
  reverse: boolean;
  ignoreLeadingBlanks: boolean;
}

function parseCount(spec: string, s: string, i: number, what: string): [number, number] {
  let j = i;
  while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
  if (j === i) throw badSpec(spec, what);
  return [Number(s.slice(i, j)), j];
}

function badSpec(spec: string, what: string): ExtsortError {
  return new ExtsortError('INVALID_OPTION', `invalid key specification '${spec}': ${what}`);
}

function applyOrdering(
  spec: string,
  s: string,
  i: number,
  key: KeyField,
  atStart: boolean,
): number {
  let j = i;
  for (; j < s.length; j++) {
    const c = s[j];
    if (c === 'b') {
      if (atStart) key.skipStartBlanks = true;
      else key.skipEndBlanks = true;
    } else if (c === 'n') key.numeric = true;
    else if (c === 'r') key.reverse = true;
    else if (c === ',' || c === '.') break;
    else if (c !== undefined && 'dfghiMRV'.includes(c)) {
      throw badSpec(spec, `ordering option '${c}' is not supported (supported: b, n, r)`);
    } else break;
  }
  return j;
}

/**
 * Parses a GNU `-k POS1[,POS2]` specification, e.g. `2,2n`, `1.3b,1.5`, `3r`.
 *
 * @example parseKeySpec('2,2n') // field 2 only, numeric
 */
export function parseKeySpec(spec: string): KeyField {
  const key: KeyField = {
    sword: 0,
    schar: 0,
    eword: -1,
    echar: 0,
    skipStartBlanks: false,
    skipEndBlanks: false,
    numeric: false,
    reverse: false,
  };
  let [n, i] = parseCount(spec, spec, 0, 'invalid number at field start');
  if (n === 0) throw badSpec(spec, 'field number is zero');
  key.sword = n - 1;
  if (spec[i] === '.') {
    [n, i] = parseCount(spec, spec, i + 1, "invalid number after '.'");
    if (n === 0) throw badSpec(spec, 'character offset is zero');
    key.schar = n - 1;
  }
  if (key.sword === 0 && key.schar === 0) key.sword = -1;
  i = applyOrdering(spec, spec, i, key, true);
  if (spec[i] === ',') {
    [n, i] = parseCount(spec, spec, i + 1, "invalid number after ','");
    if (n === 0) throw badSpec(spec, 'field number is zero');
    key.eword = n - 1;
    if (spec[i] === '.') {
      [n, i] = parseCount(spec, spec, i + 1, "invalid number after '.'");
      key.echar = n;
    }
    i = applyOrdering(spec, spec, i, key, false);
  }
  if (i !== spec.length) throw badSpec(spec, 'stray character in field spec');
  return key;
}

/**
 * Builds the comparator configuration the way GNU sort does: keys without ordering
 * options of their own inherit the global ones, and global options with no `-k`
 * become one whole-line key.
 */
export function buildCompareConfig(input: {
  keys: KeyField[];
  global: GlobalOrdering;
  tab: number;
  unique: boolean;
  stable: boolean;
  jsonPath: string[] | null;
  strict: boolean;
}): CompareConfig {
  const { global } = input;
  const keys = input.keys.map((k) => ({ ...k }));
  for (const key of keys) {
    const plain = !key.skipStartBlanks && !key.skipEndBlanks && !key.numeric;
    if (plain && !key.reverse) {
      key.skipStartBlanks = global.ignoreLeadingBlanks;
      key.skipEndBlanks = global.ignoreLeadingBlanks;
      key.numeric = global.numeric;
      key.reverse = global.reverse;
    }
  }
  if (input.jsonPath !== null) {
    if (keys.length > 0) {
      throw new ExtsortError('INVALID_OPTION', '--json-key cannot be combined with -k');
    }
    keys.push({
      sword: -1,
      schar: 0,
      eword: -1,
      echar: 0,
      skipStartBlanks: false,
      skipEndBlanks: false,
      numeric: global.numeric,
      reverse: global.reverse,
    });
  } else if (keys.length === 0 && (global.numeric || global.ignoreLeadingBlanks)) {
    keys.push({
      sword: -1,
      schar: 0,
      eword: -1,
      echar: 0,
      skipStartBlanks: global.ignoreLeadingBlanks,
      skipEndBlanks: global.ignoreLeadingBlanks,
      numeric: global.numeric,
      reverse: global.reverse,
    });
  }
  return {
    keys,
    tab: input.tab,
    reverse: global.reverse,
    unique: input.unique,
    stable: input.stable,
    jsonPath: input.jsonPath,
    jsonNumeric: global.numeric,
    strict: input.strict,
  };
}
