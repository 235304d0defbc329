// Module hooks for running squall from its sources (a clone, no build):
// `import 'squall'`, 'squall/testing' and 'squall/kafka' resolve to the
// sources of the same copy the CLI runs, not to its dist/ (which the
// package's exports name, and which may be missing or stale). So a project
// linked to a clone (npm link, a file: dependency) runs one copy of squall,
// and instanceof checks (FailedError, SquallError, ...) hold. Registered by
// bin/squall.js and by the worker entry, only when they run the sources.
const ENTRIES = new Map([
  ['squall', 'index.ts'],
  ['squall/testing', 'testing/index.ts'],
  ['squall/kafka', 'kafka/index.ts'],
]);
const SRC = new URL('../../', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const entry = ENTRIES.get(specifier);
  if (entry !== undefined) return nextResolve(new URL(entry, SRC).href, context);
  return nextResolve(specifier, context);
}
