// The CPU backend off the page's thread and on every core: a pool of Web Workers
// (cpu-worker.js), each running its own instance of the wasm library. A batch is split between
// them. WebAssembly threads would need a Rust toolchain with rust-src (build-std with atomics);
// separate instances need nothing of the kind, because the images of a batch are independent:
// image i draws its noise from (seed, step, i) (the `firstImage` option), so every split gives
// the pixels one call would. The page's thread only draws, so it stays responsive meanwhile.
import { nextPaint } from '../pkg/consistency_models.js';

/** At most this many workers: each holds a copy of the library and of the models. */
const MAX_WORKERS = 4;

export class CpuPool {
  /** Starts `size` workers (default: one per core, at most 4) from the compiled wasm `module`. */
  static async start(module, size = Math.min(MAX_WORKERS, navigator.hardwareConcurrency || 1)) {
    const pool = new CpuPool(Math.max(1, size));
    await Promise.all(pool.workers.map((w) => pool.call(w, { op: 'init', module })));
    return pool;
  }

  constructor(size) {
    this.next = 0;
    this.pending = new Map(); // request id -> {resolve, reject, onStep}
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL('./cpu-worker.js', import.meta.url), { type: 'module' });
      worker.busy = 0;
      worker.onmessage = ({ data }) => this.receive(worker, data);
      worker.onerror = (e) => this.failAll(worker, new Error(`CPU worker failed: ${e.message ?? e}`));
      return worker;
    });
  }

  get size() {
    return this.workers.length;
  }

  call(worker, message, { onStep } = {}) {
    const id = ++this.next;
    worker.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject, onStep });
      worker.postMessage({ id, ...message });
    });
  }

  receive(worker, { id, step, result, error }) {
    const request = this.pending.get(id);
    if (!request) return;
    if (step) {
      request.onStep?.(step.info, step.noisy, step.denoised);
      return;
    }
    this.pending.delete(id);
    worker.busy--;
    if (error !== undefined) request.reject(new Error(error));
    else request.resolve(result);
  }

  failAll(worker, error) {
    for (const [id, request] of this.pending) {
      if (request.worker !== worker) continue;
      this.pending.delete(id);
      worker.busy--;
      request.reject(error);
    }
  }

  /** The least busy worker. */
  idle() {
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  /**
   * Loads model `name` (its manifest text and weights bytes; `manifest` null for a randomly
   * initialised consistency model) into every worker; resolves to a generator with the methods
   * of the library's `Generator`.
   */
  async load(name, manifest, weights) {
    const infos = await Promise.all(this.workers.map((w) => this.call(w, { op: 'load', name, manifest, weights })));
    return new PooledGenerator(this, name, infos[0]);
  }
}

/** `count` images split into at most `parts` contiguous runs: [{first, count}]. */
export function split(count, parts) {
  const k = Math.max(1, Math.min(parts, count));
  return Array.from({ length: k }, (_, i) => {
    const first = Math.floor((i * count) / k);
    return { first, count: Math.floor(((i + 1) * count) / k) - first };
  });
}

function concat(arrays) {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/**
 * Hands steps to `onStep` one per painted frame, so that each step can be seen even when the
 * workers finish several within one frame (they run on meanwhile). `done()` resolves when the last
 * one was handed over.
 */
function pace(onStep) {
  let shown = null;
  return {
    show: (...step) => {
      const call = () => onStep?.(...step);
      shown = shown ? shown.then(() => nextPaint()).then(call) : Promise.resolve().then(call);
      shown.catch(() => {}); // reported by done()
    },
    done: () => shown,
  };
}

/** A model loaded in every worker of a pool: `generate` splits the batch between them. */
class PooledGenerator {
  constructor(pool, name, { kind, adapter, fingerprint, levelTable }) {
    this.pool = pool;
    this.name = name;
    this.kind = kind;
    this.fingerprint = fingerprint;
    this.backend = 'cpu';
    this.adapter = `${adapter}, ${pool.size} worker${pool.size > 1 ? 's' : ''}`;
    this.levelTable = levelTable; // the library's `levelTable()`: {label: [levels of 1 step, ...]}
  }

  /** As `Generator.levels`, answered from the library's `levelTable()`, read at load. */
  levels(steps, label) {
    const table = this.levelTable[String(label ?? 'any')];
    if (!table) throw new Error(`no levels for label ${label}: the library gives them for ${Object.keys(this.levelTable).join(', ')}`);
    const levels = table[steps - 1];
    if (!levels) throw new Error(`steps must be 1 to ${table.length}, got ${steps}`);
    return Float64Array.from(levels); // a copy, of the type `Generator.levels` returns
  }

  /** As `Generator.generate`; each step reaches `onStep` once every worker has finished it. */
  async generate(options, onStep) {
    const count = options.count ?? 1;
    const first = options.firstImage ?? 0;
    const parts = Number.isInteger(count) && count > 0 ? split(count, this.pool.size) : [{ first: 0, count }];
    const steps = new Map(); // step index -> [{info, noisy, denoised}] per part
    let clock = performance.now();
    const paced = pace(onStep);
    const results = await Promise.all(parts.map((part, p) => {
      const partOptions = parts.length > 1 ? { ...options, count: part.count, firstImage: first + part.first } : options;
      const partStep = (info, noisy, denoised) => {
        if (!steps.has(info.index)) steps.set(info.index, []);
        const done = steps.get(info.index);
        done[p] = { info, noisy, denoised };
        if (done.filter(Boolean).length < parts.length) return;
        steps.delete(info.index);
        const now = performance.now();
        const merged = { ...info, ms: now - clock };
        clock = now;
        paced.show(merged, concat(done.map((d) => d.noisy)), concat(done.map((d) => d.denoised)));
      };
      return this.pool.call(this.pool.workers[p], { op: 'generate', name: this.name, options: partOptions }, { onStep: partStep });
    }));
    await paced.done();
    return concat(results);
  }

  /** As `Generator.edit`, on the least busy worker. */
  async edit(options, onStep) {
    const paced = pace(onStep);
    const result = await this.pool.call(this.pool.idle(), { op: 'edit', name: this.name, options }, { onStep: paced.show });
    await paced.done();
    return result;
  }
}
