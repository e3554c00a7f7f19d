/** What the ready queue orders by. */
export interface Rankable {
  /** Higher first. */
  readonly priority: number;
  /** Lower first among equal priorities (the order tasks became ready). */
  seq: number;
}

/**
 * The ready queue: tasks ordered by priority (higher first), then by the order they
 * became ready (`seq`, lower first).
 *
 * Two parts: a FIFO for priority-0 tasks (the default) and a binary max-heap for the
 * rest. Priority-0 tasks arrive with increasing `seq`, so the FIFO is already sorted
 * and costs O(1) per push and pop; only tasks with a priority pay O(log n). `pop()`
 * takes whichever head comes first. A run without priorities is therefore
 * O(V + E) overall.
 */
export class ReadyQueue<T extends Rankable> {
  private readonly heap: T[] = [];
  private fifo: T[] = [];
  private fifoHead = 0;

  get size(): number {
    return this.heap.length + this.fifo.length - this.fifoHead;
  }

  peek(): T | undefined {
    const a = this.heap[0];
    const b = this.fifoHead < this.fifo.length ? this.fifo[this.fifoHead] : undefined;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return before(a, b) ? a : b;
  }

  clear(): void {
    this.heap.length = 0;
    this.fifo = [];
    this.fifoHead = 0;
  }

  push(item: T): void {
    if (item.priority === 0) this.fifo.push(item);
    else this.heapPush(item);
  }

  pop(): T | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    if (top === this.heap[0]) return this.heapPop();
    this.fifo[this.fifoHead++] = undefined as unknown as T;
    // Drop the consumed prefix now and then, so memory follows the live size.
    if (this.fifoHead >= 1024 && this.fifoHead * 2 >= this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
    return top;
  }

  private heapPush(item: T): void {
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

  private heapPop(): T | undefined {
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
