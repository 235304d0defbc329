/**
 * A brute-force reference model of the window semantics (docs/windows.md):
 * every element kept in every window it belongs to, every window's result
 * computed from its elements when it fires. No slices, no timers: what the
 * bolt must be equal to.
 */
import type { Row } from './driver.ts';

export type Op = { op: 'el'; key: string; ts: number; v: number } | { op: 'wm'; w: number } | { op: 'tick'; ms: number };

export interface ModelConfig {
  window:
    | { kind: 'time'; size: number; slide: number; offset: number; alignToData: boolean }
    | { kind: 'session'; gap: number }
    | { kind: 'count'; size: number; slide: number }
    | { kind: 'global-count'; n: number };
  eventTime: boolean;
  lateness: number;
  earlyN: number;
  earlyMs: number;
  result: (els: number[], start: number, end: number) => unknown;
}

interface Win {
  start: number;
  end: number;
  els: number[];
  version: number;
  passed: boolean;
  /** Ack mode: elements that wait for this window (sessions), by count. */
  waiting: number;
}

interface KeyM {
  off: number;
  wins: Map<number, Win>; // time windows by end
  sessions: Win[];
  n: number;
  early: number | undefined;
  all: number[]; // count and global windows
  pending: { due: number }[]; // time windows: held inputs, acked once W >= due
}

const mod = (a: number, m: number): number => ((a % m) + m) % m;

export class Model {
  readonly rows: Row[] = [];
  readonly late: unknown[][] = [];
  now = 0;
  wm = -Infinity;
  private readonly keys = new Map<string, KeyM>();
  constructor(private readonly c: ModelConfig) {}

  private W(): number {
    return this.c.eventTime ? this.wm : this.now - 1;
  }

  private fire(key: string, w: Win, kind: string): void {
    w.version++;
    this.rows.push({ key, start: w.start, end: w.end, result: this.c.result([...w.els], w.start, w.end), kind, version: w.version });
  }

  /** Inputs held in ack mode. */
  pending(): number {
    let n = 0;
    for (const k of this.keys.values()) {
      n += k.pending.length;
      for (const s of k.sessions) n += s.waiting;
    }
    return n;
  }

  apply(op: Op): void {
    if (op.op === 'el') this.element(op.key, op.ts, op.v);
    else if (op.op === 'wm') {
      if (op.w > this.wm) {
        this.wm = op.w;
        if (this.c.eventTime) this.progress();
      }
    } else {
      this.now += op.ms;
      if (!this.c.eventTime) this.progress();
      this.earlyTimers();
    }
  }

  private key(k: string): KeyM {
    let m = this.keys.get(k);
    if (m === undefined) this.keys.set(k, (m = { off: NaN, wins: new Map(), sessions: [], n: 0, early: undefined, all: [], pending: [] }));
    return m;
  }

  private element(k: string, tsIn: number, v: number): void {
    const c = this.c;
    const ts = c.eventTime ? tsIn : this.now;
    const W = this.W();
    const w = c.window;
    if (w.kind === 'count' || w.kind === 'global-count') {
      const m = this.key(k);
      m.all.push(v);
      const q = m.all.length;
      if (w.kind === 'count') {
        if (q % w.slide === 0) {
          const from = Math.max(0, q - w.size);
          this.rows.push({ key: k, start: from + 1, end: q + 1, result: c.result(m.all.slice(from, q), from + 1, q + 1), kind: 'on-time', version: 1 });
        }
      } else {
        if (q === 1) m.off = ts; // first
        (m as KeyM & { last?: number; first?: number }).first = Math.min((m as any).first ?? ts, ts);
        (m as any).last = Math.max((m as any).last ?? ts, ts);
        if (q >= w.n) {
          const first = (m as any).first as number;
          const last = (m as any).last as number;
          this.rows.push({ key: k, start: first, end: last + 1, result: c.result([...m.all], first, last + 1), kind: 'on-time', version: 1 });
          this.keys.delete(k);
        }
      }
      return;
    }
    const existing = this.keys.get(k);
    if (w.kind === 'time') {
      const off = existing !== undefined ? existing.off : w.alignToData ? mod(ts, w.slide) : mod(w.offset, w.slide);
      const ends: number[] = [];
      let s = off + Math.floor((ts - off) / w.slide) * w.slide;
      for (; s > ts - w.size; s -= w.slide) ends.push(s + w.size);
      ends.sort((a, b) => a - b);
      if (ends.every((e) => e - 1 + c.lateness <= W)) {
        this.late.push([k, tsIn, v]);
        return;
      }
      const m = this.key(k);
      m.off = off;
      for (const e of ends) {
        if (e - 1 + c.lateness <= W) continue;
        let win = m.wins.get(e);
        if (win === undefined) m.wins.set(e, (win = { start: e - w.size, end: e, els: [], version: 0, passed: e - 1 <= W, waiting: 0 }));
        win.els.push(v);
        if (e - 1 <= W) this.fire(k, win, 'late');
      }
      const lastE = ends[ends.length - 1]!;
      const open = lastE - 1 > W;
      if (open) {
        m.pending.push({ due: lastE - 1 });
        if (c.earlyN > 0 && ++m.n >= c.earlyN) {
          m.n = 0;
          for (const e of ends) if (e - 1 > W) this.fire(k, m.wins.get(e)!, 'early');
        }
        if (c.earlyMs > 0 && m.early === undefined) m.early = this.now + c.earlyMs;
      }
      return;
    }
    // Sessions: merge with every touching session.
    const gap = w.gap;
    const ss = existing?.sessions ?? [];
    let start = ts;
    let end = ts + gap;
    let touching: Win[] = [];
    for (;;) {
      const t = ss.filter((x) => x.start <= end && x.end >= start);
      const s2 = Math.min(start, ...t.map((x) => x.start));
      const e2 = Math.max(end, ...t.map((x) => x.end));
      touching = t;
      if (s2 === start && e2 === end) break;
      start = s2;
      end = e2;
    }
    if (end - 1 + c.lateness <= W) {
      this.late.push([k, tsIn, v]);
      return;
    }
    const m = this.key(k);
    const merged: Win = {
      start,
      end,
      els: touching.sort((a, b) => a.start - b.start).flatMap((x) => x.els).concat([v]),
      version: Math.max(0, ...touching.map((x) => x.version)),
      passed: end - 1 <= W,
      waiting: touching.reduce((a, x) => a + x.waiting, 0),
    };
    m.sessions = m.sessions.filter((x) => !touching.includes(x));
    m.sessions.push(merged);
    m.sessions.sort((a, b) => a.start - b.start);
    if (merged.passed) {
      this.fire(k, merged, 'late');
      merged.waiting = 0;
    } else {
      merged.waiting++;
      if (c.earlyN > 0 && ++m.n >= c.earlyN) {
        m.n = 0;
        this.fire(k, merged, 'early');
      }
      if (c.earlyMs > 0 && m.early === undefined) m.early = this.now + c.earlyMs;
    }
  }

  /** The watermark (or the clock, in processing time) moved: on-time firings, then clean-up past lateness. */
  private progress(): void {
    const W = this.W();
    const c = this.c;
    for (const [k, m] of this.keys) {
      if (c.window.kind === 'time') {
        for (const e of [...m.wins.keys()].sort((a, b) => a - b)) {
          const win = m.wins.get(e)!;
          if (!win.passed && e - 1 <= W) {
            win.passed = true;
            this.fire(k, win, 'on-time');
          }
        }
        for (const [e] of m.wins) if (e - 1 + c.lateness <= W) m.wins.delete(e);
        m.pending = m.pending.filter((p) => p.due > W);
        if (m.wins.size === 0) this.keys.delete(k);
      } else if (c.window.kind === 'session') {
        for (const s of m.sessions) {
          if (!s.passed && s.end - 1 <= W) {
            s.passed = true;
            s.waiting = 0;
            this.fire(k, s, 'on-time');
          }
        }
        m.sessions = m.sessions.filter((s) => s.end - 1 + c.lateness > W);
        if (m.sessions.length === 0) this.keys.delete(k);
      }
    }
  }

  private earlyTimers(): void {
    const W = this.W();
    for (const [k, m] of this.keys) {
      if (m.early === undefined || m.early > this.now) continue;
      let fired = 0;
      if (this.c.window.kind === 'time') {
        for (const e of [...m.wins.keys()].sort((a, b) => a - b)) {
          const win = m.wins.get(e)!;
          if (!win.passed && e - 1 > W) {
            this.fire(k, win, 'early');
            fired++;
          }
        }
      } else {
        for (const s of m.sessions) {
          if (!s.passed && s.end - 1 > W) {
            this.fire(k, s, 'early');
            fired++;
          }
        }
      }
      m.early = fired > 0 ? this.now + this.c.earlyMs : undefined;
    }
  }
}
