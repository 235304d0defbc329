// The file piscina loads in each worker thread. Module hooks are per thread
// on Node 20, so TypeScript support (tsx) is registered here, in the worker,
// before the host task and the user's topology module are imported.
//
// This file is the same in src/ (development: the host task is host-task.ts)
// and in dist/ (the built package: host-task.js, emitted by the build): the
// worker runs the host task that sits beside it, so a run started from the
// built package never loads sources, and one from the sources needs no build.
import { existsSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
const built = new URL('./host-task.js', import.meta.url);
// From the sources, `import 'squall'` in the topology module means these sources too (see squall-source.mjs).
if (!existsSync(built)) registerHooks(new URL('./squall-source.mjs', import.meta.url));
const task = existsSync(built) ? built : new URL('./host-task.ts', import.meta.url);
const { default: hostTask } = await import(task.href);
export default hostTask;
