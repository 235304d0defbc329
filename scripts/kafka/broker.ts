/**
 * The dev broker from TypeScript: whether something listens on its port, and
 * running this directory's scripts. Shared by the test setup
 * (test/support/kafka-setup.ts) and the benchmarks (bench/broker.ts).
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const KAFKA_PORT = Number(process.env['SQUALL_KAFKA_PORT'] ?? 9092);

/** True if a TCP connection to 127.0.0.1:port succeeds within a second. */
export function portOpen(port: number = KAFKA_PORT): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('timeout', () => {
      s.destroy();
      done(false);
    });
    s.once('error', () => done(false));
  });
}

/**
 * Run scripts/kafka/<name> (up.sh, down.sh, ...): its output (the scripts
 * log to stderr), and null or the error with the tail of that output.
 */
export function runKafkaScript(name: string): Promise<{ error: string | null; output: string }> {
  return new Promise((done) => {
    execFile('bash', [`${ROOT}scripts/kafka/${name}`], { cwd: ROOT, timeout: 180_000 }, (err, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      if (err === null) return done({ error: null, output });
      const tail = output.trim().split('\n').slice(-15).join('\n');
      done({ error: `${err.message.split('\n')[0]}\n${tail}`, output });
    });
  });
}
