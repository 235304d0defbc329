import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StatusLine } from '../../src/cli/status-line.ts';
import type { StatusSample } from '../../src/cli/status-line.ts';
import { formatTotals } from '../../src/cli/summary.ts';
import type { MetricsSnapshot } from '../../src/runtime/metrics.ts';

/**
 * A terminal as far as the status line needs one: text overwrites from the
 * cursor, `\r` goes to the start of the line, `ESC[2K` blanks the line, `\n`
 * starts a new one. `lines` is the scrollback plus the current line.
 */
class Terminal {
  readonly lines: string[] = [''];
  private col = 0;

  write(text: string): void {
    for (let i = 0; i < text.length; i++) {
      if (text.startsWith('\x1b[2K', i)) {
        this.lines[this.lines.length - 1] = '';
        i += 3;
        continue;
      }
      const ch = text[i]!;
      if (ch === '\r') this.col = 0;
      else if (ch === '\n') {
        this.lines.push('');
        this.col = 0;
      } else {
        const cur = this.lines[this.lines.length - 1]!;
        this.lines[this.lines.length - 1] = cur.slice(0, this.col).padEnd(this.col) + ch + cur.slice(this.col + 1);
        this.col++;
      }
    }
  }

  get current(): string {
    return this.lines[this.lines.length - 1]!;
  }
}

/** A TTY-like stream onto the terminal (stdout and stderr share one screen). */
function ttyStream(term: Terminal): NodeJS.WriteStream {
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      term.write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
  return Object.assign(stream, { isTTY: true, columns: 120 }) as unknown as NodeJS.WriteStream;
}

function sampleAt(i: number): StatusSample {
  const totals = { emitted: i * 1000, acked: i * 100, failed: 0, timedOut: 0, pending: 0 };
  const metrics: MetricsSnapshot = { uptimeMs: i * 1000, components: [], hosts: [], totals, errors: [], errorsDropped: 0 };
  return { atMs: i * 1000, metrics, status: 'active' };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await tick(5);
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('the status line on a terminal shared with user output', () => {
  it('clears itself before stdout and stderr output and comes back after it, leaving no stale copies', async () => {
    const term = new Terminal();
    const stdout = ttyStream(term);
    const stderr = ttyStream(term);
    const ownStdoutWrite = stdout.write;
    let n = 0;
    const line = new StatusLine(stderr, 'wc', () => sampleAt(++n), { intervalMs: 10, redrawDelayMs: 5, shared: [stderr, stdout] });
    const userConsole = new Console({ stdout, stderr });

    line.start();
    await until('the line is drawn', () => term.current.startsWith('wc active'));
    userConsole.log('bolt says one');
    userConsole.error('bolt warns two');
    // While output is on the screen the line is not in the way; then it is back.
    await until('the line is back', () => term.current.startsWith('wc active'));
    stdout.write(Buffer.from('bytes three\n'));
    // A line written in pieces is never cut by a redraw.
    stdout.write('four, in ');
    await tick(40);
    expect(term.current).toBe('four, in ');
    stdout.write('two pieces\n');
    await until('the line is back again', () => term.current.startsWith('wc active'));
    const shown = term.current;
    await line.stop();

    // The scrollback holds the user's lines, whole and in order, and no status line: the one shown was cleared at stop.
    expect(term.lines).toEqual(['bolt says one', 'bolt warns two', 'bytes three', 'four, in two pieces', '']);
    expect(shown).toMatch(/^wc active \d+s {2}tuples emitted [\d.k]+\/s {2}trees acked [\d.k]+\/s/);
    // stop() gives the streams their own write back.
    expect(stdout.write).toBe(ownStdoutWrite);
    stdout.write('after\n');
    expect(term.lines).toEqual(['bolt says one', 'bolt warns two', 'bytes three', 'four, in two pieces', 'after', '']);
  });

  it('without the wrapping, user output runs into the line (what the test above guards against)', async () => {
    const term = new Terminal();
    const stdout = ttyStream(term);
    const stderr = ttyStream(term);
    let n = 0;
    const line = new StatusLine(stderr, 'wc', () => sampleAt(++n), { intervalMs: 10, shared: [stderr] });
    line.start();
    await until('the line is drawn', () => term.current.startsWith('wc active'));
    stdout.write('bolt says one\n');
    await line.stop();
    // The stale status line stays in the scrollback with the output glued to its end.
    expect(term.lines[0]).toMatch(/^wc active .*trees acked .*bolt says one$/);
  });
});

describe('units in the summary', () => {
  it('counts tuples emitted and trees acked', () => {
    expect(formatTotals({ emitted: 3_800_000, acked: 263_000, failed: 1, timedOut: 2, pending: 3 }, 1)).toBe(
      'totals: 3,800,000 tuples emitted, 263,000 trees acked (263.0k/s), 1 failed, 2 timed out, 3 pending',
    );
  });
});
