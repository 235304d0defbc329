#!/usr/bin/env node
// The squall command. Topology modules are TypeScript, so tsx's loader is
// registered before anything imports them (Node 20 cannot strip types alone).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything squall opened is closed by now, so the process exits on its own.
// A component that leaks a handle (a socket its close() forgot) would keep it
// alive after the summary; give it a moment, then leave anyway.
setTimeout(() => process.exit(code), 2000).unref();
