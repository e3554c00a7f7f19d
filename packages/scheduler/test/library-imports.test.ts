import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Every module specifier reachable from `file` through runtime (non-type) imports. */
function reachable(file: string, seen = new Set<string>(), external = new Set<string>()) {
  if (seen.has(file)) return external;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    if (m[1] !== undefined) continue;
    const spec = m[2] as string;
    if (spec.startsWith('.'))
      reachable(join(dirname(file), spec.replace(/\.js$/, '.ts')), seen, external);
    else external.add(spec);
  }
  return external;
}

describe('the library entry point', () => {
  it('imports no package at run time, only node:events', () => {
    expect([...reachable(join(SRC, 'index.ts'))]).toEqual(['node:events']);
  });

  it('the CLI is where yaml comes in', () => {
    expect(reachable(join(SRC, 'cli', 'main.ts')).has('yaml')).toBe(true);
  });
});
