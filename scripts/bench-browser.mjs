// Browser benchmark (a tool, not a test).
const USAGE = `node scripts/bench-browser.mjs [--weights DIR] [--backends cpu,webgpu]
Reports, in headless Chromium: time from navigation to the first image; warm time of one network
evaluation for a batch of 16 on each backend; the consistency model at 1 step against the
diffusion teacher at 35 NFE. Uses the shipped weights (or --weights DIR). Backends: \`cpu\` is the
page's CPU backend (the worker pool of www/cpu-pool.js, one worker per core), \`cpu1\` one
instance of the library on the page's thread, \`webgpu\`. Needs the wasm build in pkg/
(scripts/build-wasm.sh) and Chromium (scripts/setup.sh --browser).`;
import { generations, launch, openPage } from '../tests/browser/chromium.mjs';

if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const env = await launch({ weightsDir: arg('--weights') });
const results = {};
try {
  const { page } = await openPage(env.browser, `${env.url}?backend=cpu&steps=1&count=16`);
  const cm = await generations(page);
  results.first_image_ms = Math.round(cm.firstImageMs);
  for (const backend of (arg('--backends') ?? 'cpu,webgpu').split(',')) {
    results[backend] = await page.evaluate(async (backend) => {
      const { Generator } = await import('/pkg/consistency_models.js');
      let pool = null;
      if (backend === 'cpu') {
        const { CpuPool } = await import('/cpu-pool.js');
        pool = await CpuPool.start(await WebAssembly.compileStreaming(fetch('/pkg/consistency_models_bg.wasm')));
      }
      const index = await (await fetch('/weights/index.json')).json();
      const load = async (name) => {
        const entry = index.models.find((m) => m.name === name);
        if (!entry) return null;
        const manifest = await (await fetch(`/weights/${entry.manifest}`)).text();
        const weights = new Uint8Array(await (await fetch(`/weights/${entry.file}`)).arrayBuffer());
        if (pool) return pool.load(name, manifest, weights);
        return Generator.load(manifest, weights, backend === 'cpu1' ? 'cpu' : backend);
      };
      // Median, fastest and slowest of `runs` warm calls (timings on this machine vary by tens of
      // percent from call to call).
      const time = async (gen, options, runs) => {
        await gen.generate(options); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await gen.generate(options);
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        return { median: times[Math.floor(runs / 2)], min: times[0], max: times[runs - 1] };
      };
      const round = (t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)]));
      const out = {};
      const cd = (await load('cd')) ?? (await load('ct'));
      if (!cd) return { note: 'no consistency model shipped' };
      out.adapter = cd.adapter;
      if (pool) out.workers = pool.size;
      const batch16 = await time(cd, { seed: 1, steps: 1, count: 16 }, 15);
      out.one_step_batch16_ms = round(batch16);
      const teacher = await load('teacher');
      if (teacher) {
        const t = await time(teacher, { seed: 1, steps: 18, count: 1 }, 3);
        const one = await time(cd, { seed: 1, steps: 1, count: 1 }, 15);
        out.teacher_35nfe_batch1_ms = round(t);
        out.one_step_batch1_ms = round(one);
        out.teacher_over_one_step = Number((t.median / one.median).toFixed(1));
      }
      return out;
    }, backend);
  }
} finally {
  await env.close();
}
console.log(JSON.stringify(results, null, 2));
