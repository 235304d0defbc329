import type { GroupingSpec } from '../grouping/index.ts';
import type { Topology } from '../topology/index.ts';

/**
 * The topology graph of the web view, laid out left to right: spouts in the
 * first column, every bolt one column right of its furthest input (longest
 * path layering), the boxes of a column ordered to cross fewer edges
 * (barycenter sweeps), edges as curves from the right side of a box to the
 * left side of the next. Computed once per run on the server, as plain data
 * the page draws with SVG. The system components (the ackers) are not in it.
 */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphNode {
  id: string;
  kind: 'spout' | 'bolt';
  parallelism: number;
  /** Column: 0 for spouts, 1 + the furthest input's column for bolts. */
  layer: number;
  /** Row within the column, from the top. */
  order: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GraphEdge {
  /** `<from>-><to>:<stream>`: unique per subscription. */
  id: string;
  from: string;
  to: string;
  stream: string;
  /** The grouping as the page shows it: `shuffle`, `fields(word)`, ... */
  grouping: string;
  /** A subscription against the flow (to a column at or left of its source): drawn as a loop under the boxes. */
  back: boolean;
  /** SVG path data. */
  path: string;
  labelX: number;
  labelY: number;
}

export const NODE_W = 170;
export const NODE_H = 64;
const GAP_X = 150;
const GAP_Y = 36;
const MARGIN = 24;

/** How an edge's grouping is labelled. */
export function groupingLabel(g: GroupingSpec): string {
  switch (g.type) {
    case 'fields':
      return `fields(${g.fields.join(', ')})`;
    case 'partialKey':
      return `partial-key(${g.fields.join(', ')})`;
    case 'localOrShuffle':
      return 'local-or-shuffle';
    default:
      return g.type;
  }
}

interface Link {
  from: string;
  to: string;
  stream: string;
  grouping: string;
}

/** The layers of a graph by longest path from the sources, with edges that close a cycle left out (they are `back`). */
export function longestPathLayers(ids: readonly string[], links: readonly { from: string; to: string }[]): { layer: Map<string, number>; back: Set<number> } {
  const out = new Map<string, number[]>();
  for (const id of ids) out.set(id, []);
  links.forEach((l, i) => out.get(l.from)?.push(i));
  // Depth-first from every node in declaration order (spouts come first): an edge to a node still on the stack closes a cycle.
  const back = new Set<number>();
  const state = new Map<string, 1 | 2>();
  const order: string[] = [];
  for (const root of ids) {
    if (state.has(root)) continue;
    const stack: { id: string; next: number }[] = [{ id: root, next: 0 }];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const edges = out.get(top.id)!;
      if (top.next < edges.length) {
        const i = edges[top.next++]!;
        const to = links[i]!.to;
        const s = state.get(to);
        if (s === 1) back.add(i);
        else if (s === undefined && out.has(to)) {
          state.set(to, 1);
          stack.push({ id: to, next: 0 });
        }
      } else {
        state.set(top.id, 2);
        order.push(top.id);
        stack.pop();
      }
    }
  }
  // Reverse post-order is a topological order of the graph without its back edges.
  const layer = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const id of order.reverse()) {
    for (const i of out.get(id)!) {
      if (back.has(i)) continue;
      const to = links[i]!.to;
      layer.set(to, Math.max(layer.get(to)!, layer.get(id)! + 1));
    }
  }
  return { layer, back };
}

export function layoutTopology(topology: Topology): GraphLayout {
  const comps = [...topology.components.values()].filter((c) => !c.id.startsWith('__'));
  // Spouts first, so the depth-first walk starts from them.
  comps.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'spout' ? -1 : 1));
  const ids = comps.map((c) => c.id);
  const known = new Set(ids);
  const links: Link[] = [];
  for (const c of comps) {
    for (const input of c.inputs) {
      if (!known.has(input.component)) continue;
      links.push({ from: input.component, to: c.id, stream: input.stream, grouping: groupingLabel(input.grouping) });
    }
  }
  const { layer, back } = longestPathLayers(ids, links);
  const columns: string[][] = [];
  for (const id of ids) (columns[layer.get(id)!] ??= []).push(id);
  for (let i = 0; i < columns.length; i++) columns[i] ??= [];
  orderColumns(columns, links, back);

  const tallest = Math.max(1, ...columns.map((c) => c.length));
  // Room under the boxes for edges against the flow, when there are any.
  const loops = links.some((l, i) => back.has(i) || layer.get(l.to)! <= layer.get(l.from)!);
  const height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y + (loops ? 56 : 12);
  const nodes = new Map<string, GraphNode>();
  columns.forEach((column, l) => {
    const used = column.length * NODE_H + Math.max(0, column.length - 1) * GAP_Y;
    const top = MARGIN + (tallest * NODE_H + (tallest - 1) * GAP_Y - used) / 2;
    column.forEach((id, order) => {
      const c = topology.components.get(id)!;
      nodes.set(id, { id, kind: c.kind, parallelism: c.parallelism, layer: l, order, x: MARGIN + l * (NODE_W + GAP_X), y: top + order * (NODE_H + GAP_Y), w: NODE_W, h: NODE_H });
    });
  });
  const width = MARGIN * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  // Edges leaving one box or entering one are spread over its side.
  const fanOut = new Map<string, number[]>();
  const fanIn = new Map<string, number[]>();
  links.forEach((l, i) => {
    (fanOut.get(l.from) ?? fanOut.set(l.from, []).get(l.from)!).push(i);
    (fanIn.get(l.to) ?? fanIn.set(l.to, []).get(l.to)!).push(i);
  });
  const sortBy = (list: number[], key: (i: number) => number): void => void list.sort((a, b) => key(a) - key(b));
  for (const list of fanOut.values()) sortBy(list, (i) => nodes.get(links[i]!.to)!.y);
  for (const list of fanIn.values()) sortBy(list, (i) => nodes.get(links[i]!.from)!.y);
  const spread = (list: number[], i: number, n: GraphNode): number => n.y + (n.h * (list.indexOf(i) + 1)) / (list.length + 1);

  const edges: GraphEdge[] = links.map((l, i) => {
    const a = nodes.get(l.from)!;
    const b = nodes.get(l.to)!;
    const id = `${l.from}->${l.to}:${l.stream}`;
    const base = { id, from: l.from, to: l.to, stream: l.stream, grouping: l.grouping };
    if (back.has(i) || b.layer <= a.layer) {
      // Out of a's bottom, down below everything, back into b's bottom.
      const x1 = a.x + a.w / 2;
      const x2 = b.x + b.w / 2 + (a === b ? 30 : 0);
      const low = height - 14;
      const path = a === b
        ? `M ${x1 - 20} ${a.y + a.h} C ${x1 - 20} ${a.y + a.h + 40}, ${x2} ${a.y + a.h + 40}, ${x2} ${b.y + b.h}`
        : `M ${x1} ${a.y + a.h} C ${x1} ${low}, ${x2} ${low}, ${x2} ${b.y + b.h}`;
      return { ...base, back: true, path, labelX: (x1 + x2) / 2, labelY: a === b ? a.y + a.h + 36 : low - 10 };
    }
    const x1 = a.x + a.w;
    const y1 = spread(fanOut.get(l.from)!, i, a);
    const x2 = b.x;
    const y2 = spread(fanIn.get(l.to)!, i, b);
    const dx = Math.max(40, (x2 - x1) / 2);
    return {
      ...base,
      back: false,
      path: `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`,
      // Between neighbouring columns the label sits mid-curve; a longer edge's just before its target, clear of the boxes it passes.
      labelX: b.layer - a.layer === 1 ? (x1 + x2) / 2 : x2 - GAP_X / 2,
      labelY: (b.layer - a.layer === 1 ? (y1 + y2) / 2 : y2) - 5,
    };
  });
  return { width, height, nodes: [...nodes.values()], edges };
}

/** Order each column by the mean row of its neighbours in the column before (then after), a few sweeps: fewer crossings. */
function orderColumns(columns: string[][], links: readonly Link[], back: ReadonlySet<number>): void {
  const rank = new Map<string, number>();
  const setRanks = (): void => columns.forEach((c) => c.forEach((id, i) => rank.set(id, i)));
  setRanks();
  const forward = links.filter((_, i) => !back.has(i));
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    for (let k = 1; k < columns.length; k++) {
      const l = down ? k : columns.length - 1 - k;
      const column = columns[l]!;
      const centre = new Map<string, number>();
      for (const id of column) {
        const neighbours = forward.filter((e) => (down ? e.to === id : e.from === id)).map((e) => rank.get(down ? e.from : e.to)!);
        centre.set(id, neighbours.length > 0 ? neighbours.reduce((a, b) => a + b, 0) / neighbours.length : rank.get(id)!);
      }
      // A stable sort keeps declaration order between equals.
      column.sort((a, b) => centre.get(a)! - centre.get(b)!);
      column.forEach((id, i) => rank.set(id, i));
    }
  }
  setRanks();
}
