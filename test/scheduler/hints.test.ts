import { describe, expect, it } from 'vitest';
import { DEFAULT_ACKER_RESOURCES, DEFAULT_RESOURCES } from '../../src/topology/types.ts';
import { topologyOf } from './topologies.ts';

describe('resources hints', () => {
  it('are stored per component with the defaults filled in', () => {
    const t = topologyOf([{ id: 's' }, { id: 'cpu-only', resources: { cpu: 150 } }, { id: 'both', resources: { cpu: 0, memoryMb: 2.5 } }]);
    expect(t.components.get('s')!.resources).toEqual({ cpu: 10, memoryMb: 64 });
    expect(DEFAULT_RESOURCES).toEqual({ cpu: 10, memoryMb: 64 });
    expect(DEFAULT_ACKER_RESOURCES).toEqual({ cpu: 5, memoryMb: 32 });
    expect(t.components.get('cpu-only')!.resources).toEqual({ cpu: 150, memoryMb: 64 });
    expect(t.components.get('both')!.resources).toEqual({ cpu: 0, memoryMb: 2.5 });
  });

  const bad: [string, unknown, RegExp][] = [
    ['a negative cpu', { cpu: -1 }, /bolt 'b' has resources\.cpu -1; it must be a non-negative finite number, in percent of one core/],
    ['NaN memory', { memoryMb: Number.NaN }, /bolt 'b' has resources\.memoryMb NaN; .* in MB per task/],
    ['infinite cpu', { cpu: Infinity }, /resources\.cpu Infinity/],
    ['a string', { memoryMb: '512' }, /resources\.memoryMb "512"/],
    ['an unknown key', { memory: 512 }, /bolt 'b' has an unknown resource hint 'memory'; the hints are cpu and memoryMb/],
    ['a number for the whole', 50, /bolt 'b' has resources 50; give an object such as/],
    ['null', null, /bolt 'b' has resources null/],
  ];
  for (const [what, resources, message] of bad) {
    it(`rejects ${what} with E_BAD_CONFIG naming the component`, () => {
      expect(() => topologyOf([{ id: 's' }, { id: 'b', resources: resources as never }])).toThrow(
        expect.objectContaining({ code: 'E_BAD_CONFIG', component: 'b', message: expect.stringMatching(message) }),
      );
    });
  }

  it('names a spout as a spout', () => {
    expect(() => topologyOf([{ id: 'src', resources: { cpu: -5 } }])).toThrow(/spout 'src' has resources\.cpu -5/);
  });

  it('checks config.ackerResources the same way', () => {
    expect(() => topologyOf([{ id: 's' }], { ackerResources: { cpu: -1 } })).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', component: '__acker', message: expect.stringContaining('the ackers (config ackerResources) has resources.cpu -1') }),
    );
  });
});
