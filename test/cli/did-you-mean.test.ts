import { describe, expect, it } from 'vitest';
import { parseSets } from '../../src/cli/args.ts';
import { editDistance, nearBuiltInKey, setKeyWarnings } from '../../src/cli/did-you-mean.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['abc', 'abc', 0],
    ['kitten', 'sitting', 3],
    ['maxSpoutPendng', 'maxSpoutPending', 1], // a letter left out
    ['maxSpoutPendinng', 'maxSpoutPending', 1], // one too many
    ['maxSpuotPending', 'maxSpoutPending', 1], // two neighbours swapped
    ['maxSpotPendng', 'maxSpoutPending', 2],
    ['ca', 'abc', 3], // optimal string alignment: a swapped pair is not edited again
    ['ackers', 'sentences', 7],
  ])('from %j to %j is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('nearBuiltInKey', () => {
  it('names the built-in key within two edits, ignoring case', () => {
    expect(nearBuiltInKey('maxSpoutPendng')).toBe('maxSpoutPending');
    expect(nearBuiltInKey('maxspoutpending')).toBe('maxSpoutPending');
    expect(nearBuiltInKey('messageTimeoutMS')).toBe('messageTimeoutMs');
    expect(nearBuiltInKey('acker')).toBe('ackers');
    expect(nearBuiltInKey('killWaitMsx')).toBe('killWaitMs');
  });

  it('passes built-in keys and user keys that are not near one', () => {
    for (const key of ['maxSpoutPending', 'ackers', 'sentences', 'input', 'output', 'kafka.brokers', 'corpus', 'acking']) {
      expect(nearBuiltInKey(key)).toBeNull();
    }
    expect(nearBuiltInKey('maxSpoutPnding', 0)).toBeNull();
  });
});

describe('--set warnings', () => {
  it('warns of a near miss and still takes the value as user config', () => {
    const raw = ['maxSpoutPendng=5', 'sentences=10', 'maxSpoutPending=7'];
    expect(setKeyWarnings(raw)).toEqual(['squall: warning: --set maxSpoutPendng=5: did you mean maxSpoutPending?\n']);
    expect(parseSets(raw)).toEqual({ maxSpoutPendng: 5, sentences: 10, maxSpoutPending: 7 });
  });
});
