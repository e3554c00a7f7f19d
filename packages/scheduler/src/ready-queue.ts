/** What the ready queue orders by. */
export interface Rankable {
  /** Higher first. */
  readonly priority: number;
  /** Lower first among equal priorities (the order tasks became ready). */
  seq: number;
}

/**
 * Binary max-heap on (priority, then earliest `seq`): O(log n) push and pop.
 *
 * When every priority is equal, each push lands at the bottom (its `seq` is the
 * largest), so pushes cost O(1) and the heap degrades gracefully into a FIFO.
 */
export class ReadyQueue<T extends Rankable> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  clear(): void {
    this.heap.length = 0;
  }

  push(item: T): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as T;
      if (!before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      let c = heap[l] as T;
      if (r < n && before(heap[r] as T, c)) {
        child = r;
        c = heap[r] as T;
      }
      if (!before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(a: Rankable, b: Rankable): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}
