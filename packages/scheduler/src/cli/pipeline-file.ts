import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from './duration.js';

/** One shell command of a pipeline. */
export interface PipelineTask {
  readonly name: string;
  readonly run: string;
  readonly dependsOn: readonly string[];
  readonly priority: number | undefined;
  readonly retries: number | undefined;
  readonly timeout: number | undefined;
  readonly weight: number | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** Absolute working directory. */
  readonly cwd: string;
}

/** A validated pipeline file. */
export interface Pipeline {
  readonly concurrency: number | undefined;
  readonly errorHandling: 'fail-fast' | 'continue' | undefined;
  readonly shell: string;
  readonly tasks: readonly PipelineTask[];
}

/** The pipeline file is unreadable or does not follow the format; the message says where. */
export class PipelineFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PipelineFileError';
  }
}

const TOP_KEYS = new Set([
  'concurrency',
  'errorHandling',
  'timeout',
  'retries',
  'shell',
  'env',
  'cwd',
  'tasks',
]);
const TASK_KEYS = new Set([
  'run',
  'dependsOn',
  'priority',
  'retries',
  'timeout',
  'weight',
  'env',
  'cwd',
]);
/** Task names become log file names, so they are kept to a portable alphabet. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and validates a pipeline file (`.json`, or YAML for any other extension). */
export async function loadPipeline(path: string): Promise<Pipeline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PipelineFileError(`${path}: cannot read: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new PipelineFileError(`${path}: cannot parse: ${(error as Error).message}`);
  }
  const pipeline = validatePipeline(data, path);
  // A missing directory would otherwise surface as a baffling "spawn /bin/sh ENOENT".
  for (const cwd of new Set(pipeline.tasks.map((t) => t.cwd))) {
    const info = await stat(cwd).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) {
      const users = pipeline.tasks.filter((t) => t.cwd === cwd).map((t) => t.name);
      throw new PipelineFileError(
        `${path}: working directory ${cwd} of ${users.join(', ')} does not exist`,
      );
    }
  }
  return pipeline;
}

/** Checks the parsed document; every message is prefixed with the file and the key path. */
export function validatePipeline(data: unknown, path: string): Pipeline {
  const fail = (where: string, message: string): never => {
    throw new PipelineFileError(`${path}: ${where}: ${message}`);
  };
  if (!isRecord(data)) fail('top level', 'must be a mapping with a "tasks" key');
  const doc = data as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.has(key)) fail(key, `unknown key (known: ${[...TOP_KEYS].join(', ')})`);
  }
  const concurrency = doc.concurrency;
  if (
    concurrency !== undefined &&
    !(Number.isInteger(concurrency) && (concurrency as number) >= 1)
  ) {
    fail('concurrency', 'must be an integer >= 1');
  }
  const errorHandling = doc.errorHandling;
  if (
    errorHandling !== undefined &&
    errorHandling !== 'fail-fast' &&
    errorHandling !== 'continue'
  ) {
    fail('errorHandling', "must be 'fail-fast' or 'continue'");
  }
  const shell = doc.shell ?? '/bin/sh';
  if (typeof shell !== 'string' || shell === '') fail('shell', 'must be a path to a shell');
  const base = dirname(resolve(path));
  const topCwd = doc.cwd === undefined ? base : resolveCwd(doc.cwd, base, 'cwd', fail);
  const topEnv = readEnv(doc.env, 'env', fail);
  const topTimeout = readDuration(doc.timeout, 'timeout', fail);
  const topRetries = readRetries(doc.retries, 'retries', fail);

  if (!isRecord(doc.tasks) || Object.keys(doc.tasks).length === 0) {
    fail('tasks', 'must be a non-empty mapping of task name to task');
  }
  const tasks: PipelineTask[] = [];
  for (const [name, raw] of Object.entries(doc.tasks as Record<string, unknown>)) {
    const at = `tasks.${name}`;
    if (!NAME.test(name)) fail(at, 'task names may use letters, digits, ".", "_" and "-"');
    const spec: Record<string, unknown> = typeof raw === 'string' ? { run: raw } : (raw as never);
    if (!isRecord(spec)) fail(at, 'must be a command string or a mapping with "run"');
    for (const key of Object.keys(spec)) {
      if (!TASK_KEYS.has(key))
        fail(`${at}.${key}`, `unknown key (known: ${[...TASK_KEYS].join(', ')})`);
    }
    if (typeof spec.run !== 'string' || spec.run.trim() === '') {
      fail(`${at}.run`, 'must be a non-empty command string');
    }
    let dependsOn: unknown = spec.dependsOn ?? [];
    if (typeof dependsOn === 'string') dependsOn = [dependsOn];
    if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string')) {
      fail(`${at}.dependsOn`, 'must be a task name or a list of task names');
    }
    const priority = spec.priority;
    if (priority !== undefined && !(typeof priority === 'number' && Number.isFinite(priority))) {
      fail(`${at}.priority`, 'must be a number');
    }
    const weight = spec.weight;
    if (weight !== undefined && !(typeof weight === 'number' && weight > 0)) {
      fail(`${at}.weight`, 'must be a number > 0');
    }
    tasks.push({
      name,
      run: spec.run as string,
      dependsOn: dependsOn as string[],
      priority: priority as number | undefined,
      retries: readRetries(spec.retries, `${at}.retries`, fail) ?? topRetries,
      timeout: readDuration(spec.timeout, `${at}.timeout`, fail) ?? topTimeout,
      weight: weight as number | undefined,
      env: { ...topEnv, ...readEnv(spec.env, `${at}.env`, fail) },
      cwd: spec.cwd === undefined ? topCwd : resolveCwd(spec.cwd, topCwd, `${at}.cwd`, fail),
    });
  }
  return {
    concurrency: concurrency as number | undefined,
    errorHandling: errorHandling as Pipeline['errorHandling'],
    shell: shell as string,
    tasks,
  };
}

type Fail = (where: string, message: string) => never;

function readEnv(value: unknown, where: string, fail: Fail): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) return fail(where, 'must be a mapping of NAME: value');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`${where}.${k}`, 'is not a valid variable name');
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      fail(`${where}.${k}`, 'must be a string, number or boolean');
    }
    env[k] = String(v);
  }
  return env;
}

function readDuration(value: unknown, where: string, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) fail(where, 'must be a duration such as 500, "30s", "10m" or "1h"');
  return ms;
}

function readRetries(value: unknown, where: string, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isInteger(value) && (value as number) >= 0)) fail(where, 'must be an integer >= 0');
  return value as number;
}

function resolveCwd(value: unknown, base: string, where: string, fail: Fail): string {
  if (typeof value !== 'string' || value === '') fail(where, 'must be a directory path');
  return resolve(base, value as string);
}
