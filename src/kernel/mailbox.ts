/**
 * A task's mailbox: a FIFO ring buffer with a capacity that producers
 * respect. `hasRoom()` is what the host checks before it runs a producer;
 * one execute may emit more than one tuple, so a push past the capacity is
 * accepted (the ring grows) rather than lost, and the overshoot is bounded
 * by what one slice of producers emits.
 */
export class Mailbox<T> {
  private buf: (T | undefined)[];
  private mask: number;
  private head = 0;
  private tail = 0;
  size = 0;

  constructor(readonly capacity: number) {
    let n = 16;
    while (n < capacity) n <<= 1;
    this.buf = new Array<T | undefined>(n);
    this.mask = n - 1;
  }

  hasRoom(): boolean {
    return this.size < this.capacity;
  }

  push(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[this.tail] = item;
    this.tail = (this.tail + 1) & this.mask;
    this.size++;
  }

  /** Remove and return the oldest item; the caller checks `size` first. */
  shift(): T {
    const item = this.buf[this.head] as T;
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return item;
  }

  private grow(): void {
    const old = this.buf;
    const n = old.length * 2;
    const buf = new Array<T | undefined>(n);
    for (let i = 0; i < this.size; i++) buf[i] = old[(this.head + i) & this.mask];
    this.buf = buf;
    this.mask = n - 1;
    this.head = 0;
    this.tail = this.size;
  }
}
