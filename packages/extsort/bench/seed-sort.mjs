// The seed note's approach ("How to Sort 1TB of Data in Node.js") as written there, as
// the benchmark baseline: readline chunks of 100 000 lines sorted with
// Number(a) - Number(b), one chunk_N.txt per chunk joined by '\n', then a k-way merge
// over every chunk at once with readline async iterators and the npm `heap` package
// (the one the note installs) holding { value, source } ordered by a.value - b.value,
// writing value + '\n' without awaiting backpressure. Only the chunk directory is
// parameterised (the note uses the current directory) so the benchmark can clean up
// after it, and the end of the output stream is awaited so the timing includes it.
//
// Usage: node seed-sort.mjs INPUT OUTPUT CHUNK_DIR
import fs from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';
import Heap from 'heap';

const [inputPath, outputPath, chunkDir] = process.argv.slice(2);

async function sortAndSaveChunk(chunkNumber, lines) {
  lines.sort((a, b) => Number(a) - Number(b));
  await fs.promises.writeFile(join(chunkDir, `chunk_${chunkNumber}.txt`), lines.join('\n'));
}

async function splitAndSortLargeFile(path, chunkSize = 100_000) {
  const fileStream = fs.createReadStream(path);
  const rl = readline.createInterface({ input: fileStream });
  let lines = [];
  let chunkNum = 0;
  for await (const line of rl) {
    lines.push(line);
    if (lines.length >= chunkSize) {
      await sortAndSaveChunk(chunkNum++, lines);
      lines = [];
    }
  }
  if (lines.length) await sortAndSaveChunk(chunkNum++, lines);
}

async function* readSortedFile(filePath) {
  const rl = readline.createInterface({ input: fs.createReadStream(filePath) });
  for await (const line of rl) yield Number(line);
}

async function externalMergeSortedFiles(chunkPaths, out) {
  const output = fs.createWriteStream(out);
  const iterators = chunkPaths.map(readSortedFile);
  const heap = new Heap((a, b) => a.value - b.value);
  for (let i = 0; i < iterators.length; i++) {
    const iter = iterators[i];
    const { value, done } = await iter.next();
    if (!done) heap.push({ value, source: iter });
  }
  while (!heap.empty()) {
    const { value, source } = heap.pop();
    output.write(value + '\n');
    const { value: nextVal, done } = await source.next();
    if (!done) heap.push({ value: nextVal, source });
  }
  await new Promise((resolve) => output.end(resolve));
}

await splitAndSortLargeFile(inputPath);
const chunkPaths = fs
  .readdirSync(chunkDir)
  .filter((f) => f.startsWith('chunk_'))
  .map((f) => join(chunkDir, f));
await externalMergeSortedFiles(chunkPaths, outputPath);
