// Benchmark: extsort vs GNU sort vs the seed note's readline + heap approach.
//
//   node bench/run.mjs [--sizes=1,4] [--kinds=int,text] [--budget=256M] [--runs=3]
//                      [--large-runs=1] [--seed-sort] [--multipass] [--dir=DIR] [--keep]
//
// Generates random integers and random text lines (10-100 chars) of each size (GiB)
// under --dir (default: extsort-bench in the OS temp dir), measures the disk's
// sequential write/read speed with dd (O_DIRECT, so the page cache does not flatter
// it), then times each contender with /usr/bin/time -v (wall time, peak RSS) and
// checks every output with cmp against GNU sort's. GNU sort and extsort alternate,
// --runs times for 1 GiB inputs and --large-runs times for bigger ones; medians are
// reported, and every single run (with the load average before it) is kept in
// --results (default: extsort-bench-results in the OS temp dir). The seed approach
// runs once, right after the 1 GiB integer comparison; the 8 MiB multi-pass run comes
// last. Prints a Markdown table with MB/s and ratios. Removes its data afterwards
// unless --keep.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli.js');
const seedScript = join(here, 'seed-sort.mjs');

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const sizes = (args.sizes ?? '1,4').split(',').map(Number);
const kinds = (args.kinds ?? 'int,text').split(',');
const budget = args.budget ?? '256M';
const repeats = Number(args.runs ?? args.repeats ?? 3);
const largeRepeats = Number(args['large-runs'] ?? 1);
const runSeed = args['seed-sort'] === 'true';
const runMultipass = args.multipass === 'true';
const dir = args.dir ?? join(os.tmpdir(), 'extsort-bench');
const GiB = 1024 ** 3;
const MB = 1e6;

fs.mkdirSync(dir, { recursive: true });
const tmp = join(dir, 'tmp');
fs.mkdirSync(tmp, { recursive: true });

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// xorshift32: fast and reproducible; Math.random would dominate generation time.
function generate(kind, bytes, path) {
  if (fs.existsSync(path) && fs.statSync(path).size >= bytes) return;
  let s = kind === 'int' ? 0x9e3779b9 : 0x7f4a7c15;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const alpha = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
  const fd = fs.openSync(path, 'w');
  const buf = Buffer.allocUnsafe(8 << 20);
  let pos = 0;
  let written = 0;
  while (written + pos < bytes) {
    if (kind === 'int') {
      // Same bytes as `${next() | 0}\n`, without a string per line.
      let v = next() | 0;
      if (v < 0) {
        buf[pos++] = 45;
        v = -v;
      }
      let digits = 1;
      for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
      for (let i = pos + digits - 1; i >= pos; i--) {
        buf[i] = 48 + (v % 10);
        v = Math.floor(v / 10);
      }
      pos += digits;
      buf[pos++] = 10;
    } else {
      const len = 10 + (next() % 91);
      for (let i = 0; i < len; i++) buf[pos++] = alpha[next() % 62];
      buf[pos++] = 10;
    }
    if (pos > buf.length - 256) {
      fs.writeSync(fd, buf, 0, pos);
      written += pos;
      pos = 0;
    }
  }
  fs.writeSync(fd, buf, 0, pos);
  fs.closeSync(fd);
}

function diskSpeed() {
  const f = join(dir, 'dd.bin');
  const run = (a) => spawnSync('dd', a, { encoding: 'utf8' }).stderr;
  const rate = (out) => {
    const m = /(\d+) bytes.*copied, ([\d.]+) s/.exec(out);
    return m ? Number(m[1]) / Number(m[2]) / MB : NaN;
  };
  const w = rate(
    run(['if=/dev/zero', `of=${f}`, 'bs=8M', 'count=128', 'oflag=direct', 'conv=fsync']),
  );
  const r = rate(run([`if=${f}`, 'of=/dev/null', 'bs=8M', 'iflag=direct']));
  fs.rmSync(f, { force: true });
  return { writeMBps: w, readMBps: r };
}

const loadNow = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function timed(cmd, argv, env = {}) {
  const loadBefore = loadNow();
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const err = r.stderr ?? '';
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(
    err,
  );
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  const secs = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  if (r.status !== 0) log(`${cmd} ${argv.join(' ')} exited ${r.status}: ${err.slice(-500)}`);
  const user = /User time \(seconds\): ([\d.]+)/.exec(err);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(err);
  const cpuSecs = user && sys ? Number(user[1]) + Number(sys[1]) : NaN;
  const rssMiB = rss ? Number(rss[1]) / 1024 : NaN;
  log(
    `  ${cmd === 'node' ? argv[0].split('/').pop() : cmd}: ${secs.toFixed(1)} s wall, ${cpuSecs.toFixed(1)} s CPU, RSS ${rssMiB.toFixed(0)} MiB, load before ${loadBefore}`,
  );
  return { ok: r.status === 0, secs, cpuSecs, rssMiB, loadBefore, stderr: err };
}

function same(a, b) {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor((v.length - 1) / 2)];
};

const results = [];
const resultsDir = args.results ?? join(os.tmpdir(), 'extsort-bench-results');
fs.mkdirSync(resultsDir, { recursive: true });
const partial = join(resultsDir, `bench-${Date.now()}.jsonl`);
const disk = diskSpeed();
log(
  `disk sequential write ${disk.writeMBps.toFixed(0)} MB/s, read ${disk.readMBps.toFixed(0)} MB/s (dd, O_DIRECT)`,
);
const load = loadNow();
fs.appendFileSync(partial, `${JSON.stringify({ disk, load, budget, repeats, largeRepeats })}\n`);

const rows = new Map();
function rowFor(kind, size) {
  const key = `${kind}-${size}`;
  if (!rows.has(key)) {
    const input = join(dir, `${kind}-${size}g.txt`);
    log(`generating ${input}`);
    generate(kind, size * GiB, input);
    const row = {
      kind,
      sizeGiB: size,
      bytes: fs.statSync(input).size,
      budget,
      input,
      contenders: {},
    };
    rows.set(key, row);
    results.push(row);
  }
  return rows.get(key);
}
const gnuOutFor = (row) => join(dir, `gnu-${row.kind}-${row.sizeGiB}.out`);
function record(row, name, runs, correct, extra = {}) {
  const secs = median(runs.map((r) => r.secs));
  row.contenders[name] = {
    secs,
    runs: runs.map((r) => r.secs),
    cpuRuns: runs.map((r) => r.cpuSecs),
    loads: runs.map((r) => r.loadBefore),
    MBps: row.bytes / MB / secs,
    rssMiB: median(runs.map((r) => r.rssMiB)),
    correct,
    ...extra,
  };
  const c = row.contenders[name];
  log(
    `${row.kind} ${row.sizeGiB}G ${name}: ${secs.toFixed(1)} s, ${c.MBps.toFixed(1)} MB/s, ` +
      `RSS ${c.rssMiB.toFixed(0)} MiB, correct=${correct}`,
  );
  fs.appendFileSync(
    partial,
    `${JSON.stringify({ kind: row.kind, sizeGiB: row.sizeGiB, name, ...c })}\n`,
  );
}
const statsOf = (r) => {
  const line = r.stderr.split('\n').find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : null;
};

// The seed and multi-pass runs use the smallest integer input (1 GiB in the full run).
const isBaseInt = (kind, size) => kind === 'int' && size === Math.min(...sizes) && size <= 1;

const seedRun = (row) => {
  const extOut = join(dir, 'out.ext');
  const chunkDir = join(dir, 'seed-chunks');
  fs.rmSync(chunkDir, { recursive: true, force: true });
  fs.mkdirSync(chunkDir);
  const r = timed('node', [seedScript, row.input, extOut, chunkDir]);
  record(row, 'seed (readline+heap)', [r], r.ok && same(extOut, gnuOutFor(row)));
  fs.rmSync(chunkDir, { recursive: true, force: true });
  fs.rmSync(extOut, { force: true });
};

// Main comparison first (GNU sort and extsort alternating, same budget); the seed
// baseline right after the 1 GiB integers; the 8 MiB multi-pass run last.
for (const size of sizes) {
  for (const kind of kinds) {
    const row = rowFor(kind, size);
    const flags = kind === 'int' ? ['-n'] : [];
    const extOut = join(dir, 'out.ext');
    const gnuRuns = [];
    const extRuns = [];
    let extCorrect = true;
    const n = size <= 1 ? repeats : largeRepeats;
    for (let i = 0; i < n; i++) {
      gnuRuns.push(
        timed(
          'sort',
          [...flags, '-S', budget, '--parallel=2', '-T', tmp, '-o', gnuOutFor(row), row.input],
          {
            LC_ALL: 'C',
          },
        ),
      );
      const r = timed('node', [
        cli,
        ...flags,
        '-S',
        budget,
        '-T',
        tmp,
        '--stats',
        '-o',
        extOut,
        row.input,
      ]);
      extRuns.push(r);
      extCorrect &&= r.ok && same(extOut, gnuOutFor(row));
      fs.rmSync(extOut, { force: true });
    }
    record(
      row,
      'gnu-sort',
      gnuRuns,
      gnuRuns.every((r) => r.ok),
    );
    record(row, 'extsort', extRuns, extCorrect, { stats: extRuns.map(statsOf) });
    if (isBaseInt(kind, size) && runSeed) seedRun(row);
    const keepForLater = isBaseInt(kind, size) && runMultipass;
    if (!keepForLater) {
      fs.rmSync(gnuOutFor(row), { force: true });
      if (args.keep !== 'true') fs.rmSync(row.input, { force: true });
    }
  }
}

// The smallest (1 GiB) integer file again: extsort with an 8 MiB budget (multi-pass merge),
// checked against GNU sort's output from above.
const intRow = rows.get(`int-${Math.min(...sizes)}`);
if (intRow !== undefined && runMultipass && isBaseInt('int', intRow.sizeGiB)) {
  const row = intRow;
  const extOut = join(dir, 'out.ext');
  const r = timed('node', [cli, '-n', '-S', '8M', '-T', tmp, '--stats', '-o', extOut, row.input]);
  record(row, 'extsort -S 8M', [r], r.ok && same(extOut, gnuOutFor(row)), {
    stats: [statsOf(r)],
    budgetMiB: 8,
  });
  fs.rmSync(extOut, { force: true });
  fs.rmSync(gnuOutFor(row), { force: true });
  if (args.keep !== 'true') fs.rmSync(row.input, { force: true });
}

const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const budgetMiB = (() => {
  const m = /^(\d+)([KMG]?)$/i.exec(budget);
  if (m === null) return NaN;
  const unit = { '': 1 / 1024, K: 1 / 1024, M: 1, G: 1024 }[m[2].toUpperCase()];
  return Number(m[1]) * unit;
})();
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)}, budget ${budget}, load average at start ${load}, at end ${loadNow()}, ` +
    `disk (dd O_DIRECT) write ${fmt(disk.writeMBps, 0)} MB/s, read ${fmt(disk.readMBps, 0)} MB/s; ` +
    `medians of ${repeats} runs (1 GiB) and ${largeRepeats} (larger).`,
  '',
  '| input | contender | wall s (median) | runs s | CPU s | MB/s | peak RSS MiB | RSS ≤ budget + 64 MiB | vs GNU sort | extsort speed-up | output = GNU |',
  '|---|---|---:|---|---:|---:|---:|---|---:|---:|---|',
];
for (const row of results) {
  const gnu = row.contenders['gnu-sort'];
  const ext = row.contenders.extsort;
  for (const [name, c] of Object.entries(row.contenders)) {
    const limit = (c.budgetMiB ?? budgetMiB) + 64;
    const rssOk = name.startsWith('seed') ? '—' : c.rssMiB <= limit ? 'yes' : 'NO';
    lines.push(
      `| ${row.kind} ${row.sizeGiB} GiB | ${name} | ${fmt(c.secs)} | ${c.runs.map((x) => fmt(x)).join(', ')} | ` +
        `${fmt(median(c.cpuRuns))} | ${fmt(c.MBps)} | ${fmt(c.rssMiB, 0)} | ${rssOk} | ` +
        `${fmt(gnu.secs / c.secs, 2)}x | ${fmt(c.secs / ext.secs, 2)}x | ${c.correct ? 'yes' : 'NO'} |`,
    );
  }
  // Physical limit of a one-merge-pass sort: every byte read twice and written twice.
  const ioBound = 1 / (2 / disk.readMBps + 2 / disk.writeMBps);
  lines.push(
    `| | extsort vs disk | | | | ${fmt((ext.MBps / ioBound) * 100, 0)}% of ${fmt(ioBound, 0)} MB/s ` +
      '(each byte read twice and written twice) | | | | | |',
  );
}
const report = lines.join('\n');
process.stdout.write(`${report}\n`);
fs.writeFileSync(partial.replace(/\.jsonl$/, '.md'), `${report}\n`);
if (args.keep !== 'true') fs.rmSync(dir, { recursive: true, force: true });
