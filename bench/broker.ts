/**
 * The Kafka broker the Kafka benchmarks need: the dev broker of
 * scripts/kafka/ on 127.0.0.1 (port SQUALL_KAFKA_PORT, default 9092). If
 * something listens there already it is used and left alone; otherwise
 * scripts/kafka/up.sh starts it, and whoever started it stops it at the end
 * (run.ts once for the whole run; one.ts when a Kafka benchmark runs alone).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KAFKA_PORT, portOpen, runKafkaScript as script } from '../scripts/kafka/broker.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export { KAFKA_PORT };
export const KAFKA_BROKERS: readonly string[] = [`127.0.0.1:${KAFKA_PORT}`];

export interface Broker {
  /** True if this process started it (and so must stop it). */
  started: boolean;
}

/** Use the broker on the port, or start one; rejects with the script's reason when it cannot start. */
export async function ensureBroker(): Promise<Broker> {
  if (await portOpen(KAFKA_PORT)) return { started: false };
  const up = await script('up.sh');
  if (up.error !== null) {
    throw new Error(`no Kafka broker on 127.0.0.1:${KAFKA_PORT}, and it did not start (bash scripts/kafka/up.sh): ${up.error}`);
  }
  if (!(await portOpen(KAFKA_PORT))) {
    throw new Error(`no Kafka broker on 127.0.0.1:${KAFKA_PORT}, and scripts/kafka/up.sh left none there: ${up.output.trim().split('\n').pop() ?? ''}`);
  }
  // up.sh waits on a lock: another run (a test run, a second bench) may have
  // started the broker meanwhile. That broker is not ours to stop.
  return { started: !/already running/.test(up.output) };
}

/** Stop the broker if `broker` says this process started it; a failure is reported, not thrown. */
export async function releaseBroker(broker: Broker | undefined): Promise<void> {
  if (broker?.started !== true) return;
  const { error } = await script('down.sh');
  if (error !== null) process.stderr.write(`could not stop the Kafka broker the benchmark started (bash scripts/kafka/down.sh): ${error}\n`);
}

/**
 * CPU seconds (user + system) the broker has used so far, or null if its pid
 * is not known (a broker not started by scripts/kafka/) or not Linux. The
 * Kafka benchmarks take the difference over a pass, to tell the broker's
 * share of "others" from the rest of the machine's.
 */
export function brokerCpuSeconds(): number | null {
  try {
    const home = process.env['SQUALL_KAFKA_HOME'] ?? `${ROOT}.kafka`;
    const pid = readFileSync(`${home}/kafka.pid`, 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (!stat.includes('(java)')) return null;
    // Fields after "(comm) ": state is the 1st; utime and stime are the 12th and 13th, in ticks of 1/100 s (USER_HZ).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}
