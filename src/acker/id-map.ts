import { idKey } from './ids.ts';

/** One id in a chain of ids that share a 53-bit key. */
class Entry<V> {
  lo: number;
  hi: number;
  value: V;
  next: Entry<V> | null;

  constructor(lo: number, hi: number, value: V, next: Entry<V> | null) {
    this.lo = lo;
    this.hi = hi;
    this.value = value;
    this.next = next;
  }
}

/**
 * A map keyed by 64-bit ids held as (lo, hi) halves. A `Map<number, Entry>`
 * on the 53-bit idKey does the hashing; ids that collide on that key (they
 * differ only in the top 11 bits of `hi`) chain through `next`. With random
 * ids a chain longer than one is rare, but the map stays exact either way.
 *
 * Values must not be `undefined`: `get` and `delete` use it to mean absent.
 *
 * Halves are normalised with `>>> 0` on the way in, because a value computed
 * with `^` is a signed 32-bit number and would otherwise miss its entry.
 */
export class IdMap<V> {
  private readonly map = new Map<number, Entry<V>>();
  private count = 0;

  /** Number of ids held (not the number of keys in the underlying Map). */
  get size(): number {
    return this.count;
  }

  get(lo: number, hi: number): V | undefined {
    lo >>>= 0;
    hi >>>= 0;
    // The key holds all of lo, so entries in one chain share lo; compare hi only.
    for (let e = this.map.get(idKey(lo, hi)) ?? null; e !== null; e = e.next) {
      if (e.hi === hi) return e.value;
    }
    return undefined;
  }

  has(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    for (let e = this.map.get(idKey(lo, hi)) ?? null; e !== null; e = e.next) {
      if (e.hi === hi) return true;
    }
    return false;
  }

  set(lo: number, hi: number, value: V): void {
    lo >>>= 0;
    hi >>>= 0;
    const key = idKey(lo, hi);
    const head = this.map.get(key);
    for (let e = head ?? null; e !== null; e = e.next) {
      if (e.hi === hi) {
        e.value = value;
        return;
      }
    }
    this.map.set(key, new Entry(lo, hi, value, head ?? null));
    this.count++;
  }

  /** Remove the id; returns its value, or undefined when it was absent. */
  delete(lo: number, hi: number): V | undefined {
    lo >>>= 0;
    hi >>>= 0;
    const key = idKey(lo, hi);
    let prev: Entry<V> | null = null;
    for (let e = this.map.get(key) ?? null; e !== null; prev = e, e = e.next) {
      if (e.hi !== hi) continue;
      if (prev !== null) prev.next = e.next;
      else if (e.next !== null) this.map.set(key, e.next);
      else this.map.delete(key);
      this.count--;
      return e.value;
    }
    return undefined;
  }

  /** Visit every id. Not for the per-tuple path: it runs once per rotation. */
  forEach(fn: (value: V, lo: number, hi: number) => void): void {
    for (const head of this.map.values()) {
      for (let e: Entry<V> | null = head; e !== null; e = e.next) fn(e.value, e.lo, e.hi);
    }
  }

  clear(): void {
    this.map.clear();
    this.count = 0;
  }
}
