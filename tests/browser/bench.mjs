// Browser benchmark (not a test): node tests/browser/bench.mjs [--weights DIR] [--backends cpu,webgpu]
// Reports, in headless Chromium: time from navigation to the first image; warm time of one network
// evaluation for a batch of 16 on each backend; the consistency model at 1 step against the
// diffusion teacher at 35 NFE. Uses the shipped weights (or --weights DIR).
import { generations, launch, openPage } from './chromium.mjs';

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
      const index = await (await fetch('/weights/index.json')).json();
      const load = async (name) => {
        const entry = index.models.find((m) => m.name === name);
        if (!entry) return null;
        const manifest = await (await fetch(`/weights/${entry.manifest}`)).text();
        const weights = new Uint8Array(await (await fetch(`/weights/${entry.file}`)).arrayBuffer());
        return Generator.load(manifest, weights, backend);
      };
      const time = async (gen, options, runs) => {
        await gen.generate(options); // warm-up
        const t = performance.now();
        for (let i = 0; i < runs; i++) await gen.generate(options);
        return (performance.now() - t) / runs;
      };
      const out = {};
      const cd = (await load('cd')) ?? (await load('ct'));
      if (!cd) return { note: 'no consistency model shipped' };
      out.adapter = cd.adapter;
      out.one_step_batch16_ms = await time(cd, { seed: 1, steps: 1, count: 16 }, 5);
      const teacher = await load('teacher');
      if (teacher) {
        out.teacher_35nfe_batch1_ms = await time(teacher, { seed: 1, steps: 18, count: 1 }, 1);
        out.one_step_batch1_ms = await time(cd, { seed: 1, steps: 1, count: 1 }, 5);
        out.teacher_over_one_step = out.teacher_35nfe_batch1_ms / out.one_step_batch1_ms;
      }
      return out;
    }, backend);
  }
} finally {
  await env.close();
}
console.log(JSON.stringify(results, null, 2));
