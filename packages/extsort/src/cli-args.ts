import { ExtsortError } from './errors.js';
import type { SortOptions } from './options.js';

/** What the command line asks for. */
export interface CliCommand {
  inputs: string[];
  output: string | null;
  options: SortOptions;
  check: 'no' | 'diagnose' | 'quiet';
  stats: boolean;
  /** null = automatic (on when stderr is a TTY). */
  progress: boolean | null;
  help: boolean;
  version: boolean;
}

const SHORT_FLAGS = new Set(['b', 'c', 'C', 'n', 'r', 's', 'u']);
const SHORT_WITH_VALUE = new Set(['k', 't', 'S', 'T', 'o']);

const LONG: Record<string, { value: 'none' | 'required' | 'optional'; name: string }> = {
  'numeric-sort': { value: 'none', name: 'n' },
  reverse: { value: 'none', name: 'r' },
  unique: { value: 'none', name: 'u' },
  stable: { value: 'none', name: 's' },
  'ignore-leading-blanks': { value: 'none', name: 'b' },
  key: { value: 'required', name: 'k' },
  'field-separator': { value: 'required', name: 't' },
  'buffer-size': { value: 'required', name: 'S' },
  'temporary-directory': { value: 'required', name: 'T' },
  output: { value: 'required', name: 'o' },
  check: { value: 'optional', name: 'check' },
  parallel: { value: 'required', name: 'parallel' },
  'batch-size': { value: 'required', name: 'batch-size' },
  'json-key': { value: 'required', name: 'json-key' },
  strict: { value: 'none', name: 'strict' },
  compress: { value: 'none', name: 'compress' },
  stats: { value: 'none', name: 'stats' },
  progress: { value: 'none', name: 'progress' },
  'no-progress': { value: 'none', name: 'no-progress' },
  help: { value: 'none', name: 'help' },
  version: { value: 'none', name: 'version' },
};

function invalid(msg: string): ExtsortError {
  return new ExtsortError('INVALID_OPTION', msg);
}

function intArg(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw invalid(`invalid --${name} argument '${v}'`);
  return Number(v);
}

/**
 * Parses GNU-sort-style arguments: grouped short flags (`-nr`), attached or separate
 * values (`-k2,2n`, `-k 2`, `-t,`), `--long=value` or `--long value`, unambiguous
 * long-option prefixes, `--` and `-` for stdin.
 */
export function parseArgs(argv: string[]): CliCommand {
  const cmd: CliCommand = {
    inputs: [],
    output: null,
    options: {},
    check: 'no',
    stats: false,
    progress: null,
    help: false,
    version: false,
  };
  const o = cmd.options;
  const keys: string[] = [];
  const apply = (name: string, value: string | undefined): void => {
    switch (name) {
      case 'b':
        o.ignoreLeadingBlanks = true;
        break;
      case 'n':
        o.numeric = true;
        break;
      case 'r':
        o.reverse = true;
        break;
      case 's':
        o.stable = true;
        break;
      case 'u':
        o.unique = true;
        break;
      case 'c':
        cmd.check = 'diagnose';
        break;
      case 'C':
        cmd.check = 'quiet';
        break;
      case 'k':
        keys.push(value!);
        break;
      case 't':
        if (o.fieldSeparator !== undefined && o.fieldSeparator !== value)
          throw invalid('incompatible tabs');
        o.fieldSeparator = value!;
        break;
      case 'S':
        o.bufferSize = value!;
        break;
      case 'T':
        o.tempDir = value!;
        break;
      case 'o':
        if (cmd.output !== null && cmd.output !== value)
          throw invalid('multiple output files specified');
        cmd.output = value!;
        break;
      case 'check':
        if (value === undefined || value === 'diagnose-first') cmd.check = 'diagnose';
        else if (value === 'quiet' || value === 'silent') cmd.check = 'quiet';
        else throw invalid(`invalid argument '${value}' for '--check'`);
        break;
      case 'parallel':
        o.parallel = intArg('parallel', value!);
        if (o.parallel < 1) throw invalid('number of threads must be positive');
        break;
      case 'batch-size':
        o.batchSize = intArg('batch-size', value!);
        if (o.batchSize < 2)
          throw invalid(`invalid --batch-size argument '${value}': minimum is 2`);
        break;
      case 'json-key':
        o.jsonKey = value!;
        break;
      case 'strict':
        o.strict = true;
        break;
      case 'compress':
        o.compress = true;
        break;
      case 'stats':
        cmd.stats = true;
        break;
      case 'progress':
        cmd.progress = true;
        break;
      case 'no-progress':
        cmd.progress = false;
        break;
      case 'help':
        cmd.help = true;
        break;
      case 'version':
        cmd.version = true;
        break;
    }
  };
  let i = 0;
  let onlyOperands = false;
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (onlyOperands || arg === '-' || !arg.startsWith('-')) {
      cmd.inputs.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyOperands = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const given = arg.slice(2, eq < 0 ? undefined : eq);
      let name = given;
      if (!(name in LONG)) {
        const matches = Object.keys(LONG).filter((k) => k.startsWith(given));
        if (matches.length !== 1) {
          throw invalid(
            matches.length === 0
              ? `unrecognized option '--${given}'`
              : `option '--${given}' is ambiguous`,
          );
        }
        name = matches[0]!;
      }
      const spec = LONG[name]!;
      let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
      if (spec.value === 'none' && value !== undefined)
        throw invalid(`option '--${name}' doesn't allow an argument`);
      if (spec.value === 'required' && value === undefined) {
        if (i >= argv.length) throw invalid(`option '--${name}' requires an argument`);
        value = argv[i++]!;
      }
      apply(spec.name, value);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]!;
      if (SHORT_FLAGS.has(c)) {
        apply(c, undefined);
      } else if (SHORT_WITH_VALUE.has(c)) {
        let value = arg.slice(j + 1);
        if (value === '') {
          if (i >= argv.length) throw invalid(`option requires an argument -- '${c}'`);
          value = argv[i++]!;
        }
        apply(c, value);
        break;
      } else {
        throw invalid(`invalid option -- '${c}'`);
      }
    }
  }
  if (keys.length > 0) o.keys = keys;
  if (cmd.inputs.length === 0) cmd.inputs.push('-');
  if (cmd.check !== 'no' && cmd.inputs.length > 1)
    throw invalid(`extra operand '${cmd.inputs[1]}' not allowed with -c`);
  return cmd;
}

export const HELP = `Usage: extsort [OPTION]... [FILE]...
Sort lines of FILE(s) (or standard input) into standard output or -o FILE, byte by
byte as LC_ALL=C sort does, using bounded memory and temporary files.

Ordering:
  -n, --numeric-sort          compare by numeric value (invalid numbers count as 0)
  -r, --reverse               reverse the result of comparisons
  -b, --ignore-leading-blanks ignore leading blanks in keys
  -k, --key=KEYDEF            sort via a key; KEYDEF is F[.C][OPTS][,F[.C][OPTS]],
                              OPTS one or more of b, n, r
  -t, --field-separator=SEP   use SEP instead of blank-to-non-blank transitions
      --json-key=PATH         sort JSON lines by the value at dotted PATH
  -s, --stable                keep input order of lines with equal keys
  -u, --unique                output only the first of lines with equal keys

Other:
  -c, --check[=diagnose-first]  check whether input is sorted; do not sort
  -C, --check=quiet             like -c, but do not report the first bad line
  -o, --output=FILE           write to FILE (atomically) instead of standard output
  -S, --buffer-size=SIZE      memory budget (default 256M); suffixes b K M G T %,
                              a bare number means KiB
  -T, --temporary-directory=DIR  temporary runs go in DIR (default $TMPDIR or /tmp)
      --parallel=N            worker threads (default: cores, at most 8)
      --batch-size=N          merge at most N runs at once (default 256)
      --compress              compress temporary runs
      --strict                fail on invalid numbers (-n) or JSON lines, naming
                              file and line
      --stats                 print JSON figures to standard error when done
      --progress, --no-progress  force the progress bar on or off (default: on
                              when standard error is a terminal)
      --help, --version

With no FILE, or when FILE is -, read standard input.
Exit status: 0 success, 1 with -c if input is unsorted, 2 on trouble, 130 if
interrupted.
`;
