// One worker of the CPU pool (cpu-pool.js): its own instance of the wasm library on the CPU
// backend, holding the models the page loaded. Messages: {id, op: 'init' | 'load' | 'generate' |
// 'edit', ...}; replies {id, step} for every step, then {id, result} or {id, error}.
import init, { Generator } from '../pkg/consistency_models.js';

// Chromium logs a Content-Security-Policy violation in a worker only on the worker's own console,
// where it is easily missed (and the browser tests' console listeners do not see it): say it as
// an error from the worker too, which reaches the page's console.
self.addEventListener('securitypolicyviolation', (e) => {
  console.error(`Content Security Policy violation in a CPU worker: ${e.effectiveDirective} blocked ${e.blockedURI || 'an inline resource'}`);
});

const models = new Map();
let ready = null;

async function handle({ id, op, ...args }) {
  if (op === 'init') {
    ready = init({ module_or_path: args.module });
    await ready;
    return true;
  }
  await ready;
  if (op === 'load') {
    const gen = args.manifest === null
      ? await Generator.random(0, undefined, 'cpu')
      : await Generator.load(args.manifest, args.weights, 'cpu');
    models.get(args.name)?.free();
    models.set(args.name, gen);
    // Every answer of `levels`, so that the pool answers it on the page's thread as the library does.
    return { kind: gen.kind, adapter: gen.adapter, fingerprint: gen.fingerprint, levelTable: gen.levelTable() };
  }
  const gen = models.get(args.name);
  if (!gen) throw new Error(`model ${args.name} is not loaded in this worker`);
  // Copied, not transferred: the last step's pixels are also the result.
  const onStep = (info, noisy, denoised) => self.postMessage({ id, step: { info, noisy, denoised } });
  if (op === 'generate') return gen.generate(args.options, onStep);
  if (op === 'edit') return gen.edit(args.options, onStep);
  throw new Error(`unknown request ${op}`);
}

self.onmessage = async ({ data }) => {
  try {
    const result = await handle(data);
    self.postMessage({ id: data.id, result }, result instanceof Float32Array ? [result.buffer] : []);
  } catch (e) {
    self.postMessage({ id: data.id, error: String(e?.message ?? e) });
  }
};
