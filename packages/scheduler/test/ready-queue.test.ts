import { describe, expect, it } from 'vitest';
import { ReadyQueue } from '../src/ready-queue.js';

interface Item {
  priority: number;
  seq: number;
}

describe('ReadyQueue', () => {
  it('pops by priority, then by seq, mixing the FIFO and the heap, across compactions', () => {
    const queue = new ReadyQueue<Item>();
    const items: Item[] = [];
    let seq = 0;
    // Deterministic mix of zero and non-zero priorities, interleaving pushes and pops.
    const popped: Item[] = [];
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 100; k++) {
        const priority = (round * 7 + k * 13) % 5 === 0 ? ((k % 7) - 3) * 2 : 0;
        const item = { priority, seq: seq++ };
        items.push(item);
        queue.push(item);
      }
      for (let k = 0; k < 60; k++) popped.push(queue.pop() as Item);
    }
    while (queue.size > 0) popped.push(queue.pop() as Item);

    expect(popped).toHaveLength(items.length);
    expect(new Set(popped).size).toBe(items.length);
    expect(queue.pop()).toBeUndefined();
    // Within the final drain (no pushes in between), order must be exact.
    const tail = popped.slice(50 * 60);
    const sorted = [...tail].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    expect(tail).toEqual(sorted);
  });

  it('each pop returns the best item present at that moment', () => {
    const queue = new ReadyQueue<Item>();
    const present = new Set<Item>();
    let seq = 0;
    for (let step = 0; step < 5000; step++) {
      if (step % 3 !== 2) {
        const item = { priority: step % 4 === 0 ? (step % 11) - 5 : 0, seq: seq++ };
        queue.push(item);
        present.add(item);
      } else {
        const best = [...present].sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0];
        const got = queue.pop();
        expect(got).toBe(best);
        present.delete(got as Item);
      }
    }
  });
});
