// The file piscina loads in each worker thread. Module hooks are per thread
// on Node 20, so TypeScript support (tsx) is registered here, in the worker,
// before the host task and the user's topology module are imported.
import { register } from 'tsx/esm/api';

register();
const { default: hostTask } = await import('./host-task.ts');
export default hostTask;
