import { connect } from 'node:net';
import { SquallError } from '../../errors/index.ts';

/** How long connect() keeps trying to reach a broker before E_KAFKA_UNREACHABLE, unless `brokerWaitMs` says otherwise. */
export const DEFAULT_BROKER_WAIT_MS = 3000;

/** Pause between two rounds of attempts. */
const ROUND_PAUSE_MS = 250;

/**
 * Resolves once a TCP connection opens to any of `brokers` (`host:port`,
 * `[v6]:port`), trying all of them in rounds for up to `waitMs`; rejects with
 * E_KAFKA_UNREACHABLE, naming each broker and why it failed, when none did.
 *
 * kafkajs retries a connect that is refused for about ten seconds and then
 * says the failed tuples may replay; a topology that cannot reach its
 * cluster at start should say so at once, and what to do. A short outage (a
 * broker restarting) is waited out for `waitMs`.
 */
export async function reachAnyBroker(brokers: readonly string[], waitMs: number, attemptTimeoutMs = 1000): Promise<void> {
  const started = Date.now();
  const why = new Map<string, string>();
  for (;;) {
    const left = waitMs - (Date.now() - started);
    const timeout = Math.max(50, Math.min(attemptTimeoutMs, left));
    const results = await Promise.all(brokers.map((b) => tryBroker(b, timeout)));
    if (results.some((r) => r === null)) return;
    results.forEach((r, i) => why.set(brokers[i]!, r!));
    const rest = waitMs - (Date.now() - started);
    if (rest <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(ROUND_PAUSE_MS, rest)));
  }
  throw unreachable(brokers, why, Date.now() - started);
}

/** Null if a connection opened, else why not. */
function tryBroker(broker: string, timeoutMs: number): Promise<string | null> {
  const at = parseBroker(broker);
  if (at === null) return Promise.resolve(`not a host:port address`);
  return new Promise((resolve) => {
    const socket = connect({ host: at.host, port: at.port });
    const done = (result: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code !== undefined && err.code in SAYS ? `${SAYS[err.code]}, ${err.code}` : (err.code ?? err.message)));
  });
}

const SAYS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
};

export function parseBroker(broker: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(broker.trim()) ?? /^([^:\s]+):(\d+)$/.exec(broker.trim());
  if (m === null) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : null;
}

/** A broker on this machine: the development broker's case. */
export function isLocalBroker(broker: string): boolean {
  const host = parseBroker(broker)?.host.toLowerCase();
  return host === 'localhost' || host === '::1' || (host !== undefined && /^127\.\d+\.\d+\.\d+$/.test(host));
}

export function unreachable(brokers: readonly string[], why: ReadonlyMap<string, string>, waitedMs: number): SquallError {
  const tried = brokers.map((b) => `${b} (${why.get(b) ?? 'no answer'})`).join(', ');
  const fix = brokers.some(isLocalBroker)
    ? 'Start the local development broker with `npm run kafka:up` (in squall\'s repository), or point kafka.brokers at a running cluster'
    : 'Check that the brokers are up and reachable from here, and that kafka.brokers names them';
  return new SquallError({
    code: 'E_KAFKA_UNREACHABLE',
    message: `Kafka is not reachable: no broker answered in ${(waitedMs / 1000).toFixed(1)} s; tried ${tried}. ${fix}`,
    details: { brokers: [...brokers], errors: Object.fromEntries(why), waitedMs },
  });
}
