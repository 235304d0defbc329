/** The web view's graph layout: longest-path columns left to right, rows ordered, edges against the flow marked. */
import { describe, expect, it } from 'vitest';
import { BasicBolt, fields, TopologyBuilder } from '../../src/index.ts';
import type { OutputDeclarer, Spout } from '../../src/index.ts';
import { groupingLabel, layoutTopology, longestPathLayers } from '../../src/ui/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';

class Pass extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['x']);
  }
  execute(): void {}
}

class Source implements Spout {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['x']);
  }
  open(): void {}
  nextTuple(): void {}
}

describe('longestPathLayers', () => {
  it('puts a node one column right of its furthest input', () => {
    // a -> b -> c -> d and a -> d: d is in column 3, not 1.
    const { layer, back } = longestPathLayers(['a', 'b', 'c', 'd'], [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'd' },
      { from: 'a', to: 'd' },
    ]);
    expect(Object.fromEntries(layer)).toEqual({ a: 0, b: 1, c: 2, d: 3 });
    expect(back.size).toBe(0);
  });

  it('ends on a cycle: the edge that closes it is marked back and left out of the layering', () => {
    const links = [
      { from: 's', to: 'x' },
      { from: 'x', to: 'y' },
      { from: 'y', to: 'x' },
      { from: 'y', to: 'y' },
    ];
    const { layer, back } = longestPathLayers(['s', 'x', 'y'], links);
    expect(Object.fromEntries(layer)).toEqual({ s: 0, x: 1, y: 2 });
    expect([...back].sort()).toEqual([2, 3]);
  });
});

describe('layoutTopology', () => {
  it('lays the word count out left to right, one column per step, without the acker', async () => {
    const g = layoutTopology(await loadTopologyModule('topologies/word-count.ts'));
    expect(g.nodes.map((n) => [n.id, n.layer, n.parallelism])).toEqual([
      ['sentences', 0, 1],
      ['split', 1, 2],
      ['count', 2, 2],
    ]);
    const [a, b, c] = g.nodes;
    expect(a!.x).toBeLessThan(b!.x);
    expect(b!.x + b!.w).toBeLessThan(c!.x);
    expect(g.edges.map((e) => [e.id, e.grouping, e.back])).toEqual([
      ['sentences->split:default', 'shuffle', false],
      ['split->count:default', 'fields(word)', false],
    ]);
    // Every box lies inside the drawing.
    for (const n of g.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.x + n.w).toBeLessThanOrEqual(g.width);
      expect(n.y + n.h).toBeLessThanOrEqual(g.height);
    }
  });

  it('orders the rows of a column by their inputs, so parallel branches do not cross', () => {
    const b = new TopologyBuilder('two-branches');
    b.setSpout('top', () => new Source());
    b.setSpout('bottom', () => new Source());
    // Declared in the order that would cross: the bolt fed by 'bottom' first.
    b.setBolt('fromBottom', () => new Pass()).shuffleGrouping('bottom');
    b.setBolt('fromTop', () => new Pass()).shuffleGrouping('top');
    const g = layoutTopology(b.build());
    const row = (id: string): number => g.nodes.find((n) => n.id === id)!.order;
    expect(row('top')).toBeLessThan(row('bottom'));
    expect(row('fromTop')).toBeLessThan(row('fromBottom'));
    const y = (id: string): number => g.nodes.find((n) => n.id === id)!.y;
    expect(y('fromTop')).toBeLessThan(y('fromBottom'));
  });

  it('draws a subscription against the flow as a back edge under the boxes, and one per stream', () => {
    const b = new TopologyBuilder('loop');
    b.setSpout('s', () => new Source());
    b.setBolt('a', () => new Pass()).shuffleGrouping('s').shuffleGrouping('b');
    b.setBolt('b', () => new Pass()).fieldsGrouping('a', ['x']);
    const g = layoutTopology(b.build());
    const edges = Object.fromEntries(g.edges.map((e) => [e.id, e]));
    expect(Object.keys(edges).sort()).toEqual(['a->b:default', 'b->a:default', 's->a:default']);
    expect(edges['b->a:default']!.back).toBe(true);
    expect(edges['a->b:default']!.back).toBe(false);
    const boxesBottom = Math.max(...g.nodes.map((n) => n.y + n.h));
    expect(edges['b->a:default']!.labelY).toBeGreaterThan(boxesBottom);
  });
});

describe('groupingLabel', () => {
  it('names each grouping as the page shows it', () => {
    expect(groupingLabel(fields('word', 'lang'))).toBe('fields(word, lang)');
    expect(groupingLabel({ type: 'partialKey', fields: ['k'] })).toBe('partial-key(k)');
    expect(groupingLabel({ type: 'localOrShuffle' })).toBe('local-or-shuffle');
    expect(groupingLabel({ type: 'global' })).toBe('global');
  });
});
