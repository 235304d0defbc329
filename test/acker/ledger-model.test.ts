/**
 * The ledger against a reference model, on seeded random tuple trees.
 *
 * The generator builds trees the way Storm's collectors do (spout: one edge id
 * per target and an init holding their XOR; bolt emit: one new edge id per
 * (child, anchor), XORed into the anchor's out-value and into the child's id
 * for each root of the anchor; bolt ack: id-for-root ^ out-value to each
 * root), then delivers every message in a random order.
 *
 * The model knows nothing of XOR: it keeps the set of outstanding
 * (root, edge) pairs. Each edge of a root appears in exactly two messages to
 * that root (where it was created, where it was consumed), so the tree is
 * done when its init has arrived and the set holds nothing for it.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/runtime/random.ts';
import { AckerLedger, IdSource, idToHex } from '../../src/acker/index.ts';
import type { AckerSink } from '../../src/acker/index.ts';

const ACK = 0;
const FAIL = 1;
const LOST = 2; // the bolt never acks nor fails it: only a timeout ends the tree

interface Root {
  lo: number;
  hi: number;
  spoutTask: number;
  initLo: number;
  initHi: number;
  initEdges: number[];
}

interface Node {
  roots: number[]; // root indexes in the batch
  idLo: number[]; // id for each root, parallel to roots
  idHi: number[];
  inEdges: number[][]; // edges consumed by this node's ack, per root
  outLo: number;
  outHi: number;
  outEdges: number[]; // edges created with this node as anchor (all roots)
  fate: number;
}

interface Message {
  kind: 'init' | 'ack' | 'fail';
  root: number;
  lo: number;
  hi: number;
  edges: number[];
}

type Event = { kind: string; spoutTask: number; lo: number; hi: number };

interface Stats {
  trees: number;
  completed: number;
  failed: number;
  timedOut: number;
  dagNodes: number;
  multiRootNodes: number;
  acksBeforeInit: number;
}

const MAX_DEPTH = 5;
const MAX_NODES_PER_BATCH = 60;

function generateBatch(rng: SeededRandom, ids: IdSource) {
  const pFail = rng.float() < 0.3 ? 0.06 : 0;
  const pLost = rng.float() < 0.3 ? 0.08 : 0;
  const roots: Root[] = [];
  const nodes: Node[] = [];
  const depth: number[] = [];
  let edgeCount = 0;
  const edgeLo: number[] = [];
  const edgeHi: number[] = [];
  const newEdge = (): number => {
    ids.next();
    edgeLo.push(ids.lo);
    edgeHi.push(ids.hi);
    return edgeCount++;
  };
  const newNode = (d: number): Node => {
    const r = rng.float();
    const fate = r < pFail ? FAIL : r < pFail + pLost ? LOST : ACK;
    const n: Node = { roots: [], idLo: [], idHi: [], inEdges: [], outLo: 0, outHi: 0, outEdges: [], fate };
    nodes.push(n);
    depth.push(d);
    return n;
  };
  // XOR edge e into node n's id for root r (adding r to its roots if new).
  const addToRoot = (n: Node, r: number, e: number): void => {
    let i = n.roots.indexOf(r);
    if (i < 0) {
      i = n.roots.length;
      n.roots.push(r);
      n.idLo.push(0);
      n.idHi.push(0);
      n.inEdges.push([]);
    }
    n.idLo[i] = (n.idLo[i] ^ edgeLo[e]) >>> 0;
    n.idHi[i] = (n.idHi[i] ^ edgeHi[e]) >>> 0;
    n.inEdges[i].push(e);
  };

  const stats = { dagNodes: 0, multiRootNodes: 0 };
  const numRoots = 1 + rng.int(4);
  for (let r = 0; r < numRoots; r++) {
    ids.next();
    const root: Root = { lo: ids.lo, hi: ids.hi, spoutTask: rng.int(16), initLo: 0, initHi: 0, initEdges: [] };
    roots.push(root);
    const targets = 1 + rng.int(3);
    for (let t = 0; t < targets; t++) {
      const e = newEdge();
      root.initLo = (root.initLo ^ edgeLo[e]) >>> 0;
      root.initHi = (root.initHi ^ edgeHi[e]) >>> 0;
      root.initEdges.push(e);
      addToRoot(newNode(1), r, e);
    }
  }
  // Bolts process tuples in creation order; each emits 0..3 children.
  for (let i = 0; i < nodes.length; i++) {
    const parent = nodes[i];
    if (depth[i] >= MAX_DEPTH) continue;
    const children = rng.int(4);
    for (let c = 0; c < children && nodes.length < MAX_NODES_PER_BATCH; c++) {
      const child = newNode(depth[i] + 1);
      const anchors = [parent];
      // Sometimes a second anchor: any earlier tuple of the batch. Same root
      // makes a DAG; another root makes a tuple that belongs to two trees.
      if (rng.float() < 0.2) {
        const other = nodes[rng.int(nodes.length - 1)];
        if (other !== parent) anchors.push(other);
      }
      for (const a of anchors) {
        const e = newEdge();
        a.outLo = (a.outLo ^ edgeLo[e]) >>> 0;
        a.outHi = (a.outHi ^ edgeHi[e]) >>> 0;
        a.outEdges.push(e);
        for (const r of a.roots) addToRoot(child, r, e);
      }
      if (anchors.length > 1) {
        if (child.roots.length > 1) stats.multiRootNodes++;
        else stats.dagNodes++;
      }
    }
  }

  const messages: Message[] = [];
  for (let r = 0; r < roots.length; r++) {
    const root = roots[r];
    messages.push({ kind: 'init', root: r, lo: root.initLo, hi: root.initHi, edges: root.initEdges });
  }
  for (const n of nodes) {
    if (n.fate === LOST) continue;
    for (let i = 0; i < n.roots.length; i++) {
      if (n.fate === FAIL) {
        messages.push({ kind: 'fail', root: n.roots[i], lo: 0, hi: 0, edges: [] });
      } else {
        messages.push({
          kind: 'ack',
          root: n.roots[i],
          lo: (n.idLo[i] ^ n.outLo) >>> 0,
          hi: (n.idHi[i] ^ n.outHi) >>> 0,
          edges: n.inEdges[i].concat(n.outEdges),
        });
      }
    }
  }
  // Random order; for some roots the init goes after all their other messages.
  for (let i = messages.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = messages[i];
    messages[i] = messages[j];
    messages[j] = t;
  }
  const late = roots.map(() => rng.float() < 0.25);
  const early = messages.filter((m) => !(m.kind === 'init' && late[m.root]));
  const last = messages.filter((m) => m.kind === 'init' && late[m.root]);
  return { roots, nodes, messages: early.concat(last), stats };
}

function runSeed(seed: number, batches: number, numBuckets: number, totals: Stats): void {
  const rng = new SeededRandom(seed);
  const ids = new IdSource(new SeededRandom(seed ^ 0x5bd1e995));
  const events: Event[] = [];
  const sink: AckerSink = {
    completed: (spoutTask, lo, hi) => void events.push({ kind: 'completed', spoutTask, lo, hi }),
    failed: (spoutTask, lo, hi) => void events.push({ kind: 'failed', spoutTask, lo, hi }),
    timedOut: (spoutTask, lo, hi) => void events.push({ kind: 'timedOut', spoutTask, lo, hi }),
    resetTimeout: (spoutTask, lo, hi) => void events.push({ kind: 'resetTimeout', spoutTask, lo, hi }),
  };
  const ledger = new AckerLedger(sink, numBuckets);
  const want = { completed: 0, failed: 0, timedOut: 0 };

  for (let b = 0; b < batches; b++) {
    const { roots, messages, stats } = generateBatch(rng, ids);
    const where = `seed ${seed} batch ${b}`;
    totals.trees += roots.length;
    totals.dagNodes += stats.dagNodes;
    totals.multiRootNodes += stats.multiRootNodes;

    // The model: outstanding (root, edge) pairs, counted per root.
    const outstanding = new Set<number>();
    const open = roots.map(() => 0);
    const initSeen = roots.map(() => false);
    const failSeen = roots.map(() => false);
    const reported = roots.map(() => '');
    const left = roots.map(() => 0);
    for (const m of messages) left[m.root]++;
    const total = left.slice();

    for (const m of messages) {
      const r = m.root;
      const root = roots[r];
      events.length = 0;
      if (m.kind === 'init') {
        if (left[r] < total[r]) totals.acksBeforeInit++;
        ledger.init(root.lo, root.hi, m.lo, m.hi, root.spoutTask);
        initSeen[r] = true;
      } else if (m.kind === 'ack') {
        ledger.ack(root.lo, root.hi, m.lo, m.hi);
      } else {
        ledger.fail(root.lo, root.hi);
        failSeen[r] = true;
      }
      left[r]--;
      for (const e of m.edges) {
        const key = r * 1_000_000 + e;
        if (outstanding.delete(key)) open[r]--;
        else {
          outstanding.add(key);
          open[r]++;
        }
      }

      let expected = '';
      if (reported[r] === '' && initSeen[r]) {
        if (failSeen[r]) expected = 'failed';
        else if (open[r] === 0) expected = 'completed';
      }
      // Plain comparisons on the hot loop; expect() only to report a mismatch.
      const ok =
        expected === ''
          ? events.length === 0
          : events.length === 1 &&
            events[0].kind === expected &&
            events[0].spoutTask === root.spoutTask &&
            events[0].lo === root.lo &&
            events[0].hi === root.hi;
      if (!ok) {
        const got = events.map((e) => `${e.kind} ${e.spoutTask} ${idToHex(e.lo, e.hi)}`);
        const exp = expected === '' ? [] : [`${expected} ${root.spoutTask} ${idToHex(root.lo, root.hi)}`];
        expect(got, `${where}: after ${m.kind} for root ${r}`).toEqual(exp);
      }
      if (expected !== '') {
        reported[r] = expected;
        want[expected as 'completed' | 'failed']++;
        // The generator's own promise: a tree completes on its last message.
        if (expected === 'completed' && left[r] !== 0) expect.fail(`${where}: model completed root ${r} early`);
      }
    }

    // Every tree not completed or failed is now waiting on a lost tuple.
    // Entries are all in the newest bucket: numBuckets - 1 rotations keep
    // them, the next one times them out, once each.
    events.length = 0;
    for (let i = 0; i < numBuckets - 1; i++) ledger.rotate();
    expect(events, `${where}: timed out early`).toEqual([]);
    ledger.rotate();
    const got = events.map((e) => `${e.kind} ${e.spoutTask} ${idToHex(e.lo, e.hi)}`).sort();
    const exp: string[] = [];
    for (let r = 0; r < roots.length; r++) {
      if (reported[r] === '') {
        exp.push(`timedOut ${roots[r].spoutTask} ${idToHex(roots[r].lo, roots[r].hi)}`);
        want.timedOut++;
      }
    }
    expect(got, `${where}: timeouts`).toEqual(exp.sort());
    expect(ledger.size, `${where}: ledger not empty after expiry`).toBe(0);
    for (const r of reported) {
      if (r === 'completed') totals.completed++;
      else if (r === 'failed') totals.failed++;
      else totals.timedOut++;
    }
  }
  expect([ledger.completedCount, ledger.failedCount, ledger.timedOutCount]).toEqual([
    want.completed,
    want.failed,
    want.timedOut,
  ]);
}

describe('AckerLedger against a reference model', () => {
  it('reports each random tree once: completed on its last message, failed at once, or timed out', () => {
    const totals: Stats = {
      trees: 0,
      completed: 0,
      failed: 0,
      timedOut: 0,
      dagNodes: 0,
      multiRootNodes: 0,
      acksBeforeInit: 0,
    };
    const seeds = [1, 2, 3, 0xdecafbad, 20240601, 77];
    for (let s = 0; s < seeds.length; s++) runSeed(seeds[s], 160, 2 + (s % 4), totals);

    // The run must have exercised every path, or it proves little.
    expect(totals.trees).toBeGreaterThan(2000);
    expect(totals.completed).toBeGreaterThan(500);
    expect(totals.failed).toBeGreaterThan(100);
    expect(totals.timedOut).toBeGreaterThan(100);
    expect(totals.dagNodes).toBeGreaterThan(100);
    expect(totals.multiRootNodes).toBeGreaterThan(100);
    expect(totals.acksBeforeInit).toBeGreaterThan(500);
  });
});
