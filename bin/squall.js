#!/usr/bin/env node
// The squall command. Topology modules are TypeScript, so tsx's loader is
// registered before anything imports them (Node 20 cannot strip types alone).
import { existsSync, realpathSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import(cliModule());
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything squall opened is closed by now, so the process exits on its own.
// A component that leaks a handle (a socket its close() forgot) would keep it
// alive after the summary; give it a moment, then leave anyway.
setTimeout(() => process.exit(code), 2000).unref();

/**
 * Which CLI to run: the TypeScript sources in a clone of the repository
 * (development: no build step, and the examples import ../src), the built
 * JavaScript in dist/ when squall is installed (under node_modules) or has
 * no sources. Worker threads follow: each runtime starts its workers from its
 * own folder.
 */
function cliModule() {
  const sources = new URL('../src/cli/main.ts', import.meta.url);
  const built = new URL('../dist/cli/main.js', import.meta.url);
  const root = realpathSync(fileURLToPath(new URL('..', import.meta.url)));
  const installed = root.split(/[\\/]/).includes('node_modules');
  if (existsSync(sources) && !(installed && existsSync(built))) {
    // `import 'squall'` in a topology module (a project linked to this
    // clone) gets these sources too, not dist/: one copy of squall runs.
    registerHooks(new URL('../src/runtime/worker/squall-source.mjs', import.meta.url));
    return sources.href;
  }
  if (existsSync(built)) return built.href;
  process.stderr.write(`squall: E_NOT_BUILT: no built code at ${fileURLToPath(built)}; run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
