// The demo page in real headless Chromium (Debian's), against a fixture model written by the
// native build (examples/browser_fixture.rs) together with the pixels it made from it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { FIXTURE, generations, launch, maxAbsDiff, openPage, readFixture } from './chromium.mjs';

const golden = await readFixture();
const STATE = '?model=cd&seed=5&label=3&count=2';

let env;
before(async () => { env = await launch({ weightsDir: FIXTURE }); });
after(async () => { await env?.close(); });

test('CPU: loads without errors, one strip cell per step, native pixels', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}${STATE}&steps=3&backend=cpu`);
  const cm = await generations(page);
  assert.deepEqual(cm.errors, []);
  assert.equal(cm.backend, 'cpu');
  assert.equal(await page.getAttribute('#badge', 'data-backend'), 'cpu');
  assert.equal(cm.steps.length, 3, 'the callback fires once per step');
  assert.deepEqual(cm.steps.map((s) => s.index), [0, 1, 2]);
  assert.equal(await page.locator('#strip .step').count(), 3);
  assert.equal(await page.locator('#strip .step canvas').count(), 6, 'noisy and denoised image per step');
  assert.ok(maxAbsDiff(cm.pixels, golden.steps3) < 1e-3, 'same pixels as the native build');
  assert.match(await page.textContent('#levels'), /80\.0 → 5\.00 → 0\.500/);
  await mkdir('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/page-cpu.png', fullPage: true });
  assert.deepEqual(errors, []);
});

test('CPU workers: a batch split between workers gives the pixels of one call, step by step', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}${STATE}&steps=1&backend=cpu`);
  await generations(page);
  const r = await page.evaluate(async () => {
    const { Generator, limits } = await import('/pkg/consistency_models.js');
    const { CpuPool, split } = await import('/cpu-pool.js');
    const pool = await CpuPool.start(await WebAssembly.compileStreaming(fetch('/pkg/consistency_models_bg.wasm')), 3);
    const manifest = await (await fetch('/weights/cd.json')).text();
    const weights = new Uint8Array(await (await fetch('/weights/cd.bpk')).arrayBuffer());
    const pooled = await pool.load('cd', manifest, weights);
    const single = await Generator.load(manifest, weights, 'cpu');
    const options = { seed: 5, steps: 3, label: 3, count: 5 };
    const run = async (gen) => {
      const steps = [];
      const final = await gen.generate(options, (info, noisy, denoised) => steps.push({ index: info.index, noisy: Array.from(noisy), denoised: Array.from(denoised) }));
      return { steps, final: Array.from(final) };
    };
    const [a, b] = [await run(pooled), await run(single)];
    const diff = (x, y) => (x.length === y.length ? x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0) : Infinity);
    return {
      split: split(5, 3),
      workers: pool.size,
      adapter: pooled.adapter,
      // Each label's recommended levels (any digit has its own in the fixture).
      levels: [undefined, 'any', 3, '3', '0-9'].map((label) => [Array.from(pooled.levels(3, label)), Array.from(single.levels(3, label))]),
      // Every step count the library takes, and the ones it refuses: the pool answers as it does.
      allSteps: Array.from({ length: limits().steps }, (_, i) => ['any', 7, '0-9'].every((label) => {
        const [p, s] = [pooled.levels(i + 1, label), single.levels(i + 1, label)];
        return p instanceof Float64Array && s instanceof Float64Array && p.length === s.length && p.every((v, j) => v === s[j]);
      })),
      refusals: [[0, 3], [limits().steps + 1, 3], [2, 'x'], [2, 10], [2, '1-9']].map(([steps, label]) => [pooled, single].map((gen) => {
        try {
          gen.levels(steps, label);
          return null;
        } catch (e) {
          return String(e.message ?? e);
        }
      })),
      indices: a.steps.map((s) => s.index),
      lengths: a.steps.map((s) => s.denoised.length),
      stepDiff: Math.max(...a.steps.map((s, i) => Math.max(diff(s.noisy, b.steps[i].noisy), diff(s.denoised, b.steps[i].denoised)))),
      finalDiff: diff(a.final, b.final),
    };
  });
  assert.deepEqual(r.split, [{ first: 0, count: 1 }, { first: 1, count: 2 }, { first: 3, count: 2 }]);
  assert.equal(r.workers, 3);
  assert.match(r.adapter, /3 workers/);
  for (const [fromPool, fromOne] of r.levels) assert.deepEqual(fromPool, fromOne);
  assert.deepEqual(r.levels.map(([levels]) => levels), [[80, 2.5, 0.25], [80, 2.5, 0.25], [80, 5, 0.5], [80, 5, 0.5], [80, 5, 0.5]]);
  assert.ok(r.allSteps.length > 8 && r.allSteps.every(Boolean), `the pool's levels differ from the library's for ${r.allSteps.map((ok, i) => (ok ? null : i + 1)).filter(Boolean)} steps`);
  for (const [fromPool, fromOne] of r.refusals) assert.ok(fromPool && fromOne, `both refuse: ${fromPool} / ${fromOne}`);
  assert.deepEqual(r.refusals.slice(0, 2).map(([fromPool]) => fromPool), r.refusals.slice(0, 2).map(([, fromOne]) => fromOne), 'the same words for steps out of range');
  assert.deepEqual(r.indices, [0, 1, 2], 'one callback per step, in order');
  assert.deepEqual(r.lengths, [5 * 784, 5 * 784, 5 * 784], 'every step carries the whole batch');
  assert.ok(r.stepDiff < 1e-6, `steps differ by ${r.stepDiff}`);
  assert.ok(r.finalDiff < 1e-6, `results differ by ${r.finalDiff}`);
  assert.deepEqual(errors, []);
});

test('the strip is drawn as the steps arrive: the page renders a frame between steps', async () => {
  const { page } = await openPage(env.browser, `${env.url}${STATE}&steps=6&backend=cpu`);
  await generations(page);
  const seen = await page.evaluate(async () => {
    const seen = [];
    let frames = 0;
    const tick = () => { frames++; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new MutationObserver(() => seen.push({ cells: document.querySelectorAll('#strip .step').length, frames }))
      .observe(document.getElementById('strip'), { childList: true });
    const before = window.cm.done;
    document.getElementById('generate').click();
    await new Promise((ok) => { const wait = () => (window.cm.done > before ? ok() : setTimeout(wait, 20)); wait(); });
    return seen.filter((s) => s.cells > 0);
  });
  assert.deepEqual(seen.map((s) => s.cells), [1, 2, 3, 4, 5, 6]);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].frames > seen[i - 1].frames, JSON.stringify(seen));
});

test('WebGPU (SwiftShader, forced): same pixels as the CPU and the native build', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}${STATE}&steps=1&backend=webgpu`);
  const cm = await generations(page);
  assert.deepEqual(cm.errors, []);
  assert.equal(cm.backend, 'webgpu');
  assert.match(await page.textContent('#badge'), /^WebGPU/);
  assert.ok(maxAbsDiff(cm.pixels, golden.steps1) < 1e-3, `max diff ${maxAbsDiff(cm.pixels, golden.steps1)}`);
  await page.screenshot({ path: 'test-results/page-webgpu.png', fullPage: true });
  assert.deepEqual(errors, []);
});

test('auto picks the CPU over a software-fallback adapter, and says why', async () => {
  const { page } = await openPage(env.browser, `${env.url}${STATE}&steps=1`);
  await generations(page);
  assert.equal(await page.getAttribute('#badge', 'data-backend'), 'cpu');
  assert.match(await page.getAttribute('#badge', 'data-reason'), /fallback|no adapter/);
});

test('the comparison runs the teacher at 35 NFE next to the consistency model at 1, 2, 4 steps', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}${STATE}&steps=1&backend=cpu`);
  await generations(page);
  await page.click('#compare');
  await page.waitForFunction(() => document.querySelectorAll('#comparison .compare-cell').length === 4, null, { timeout: 120_000 });
  const captions = await page.locator('#comparison .compare-cell span').allTextContents();
  assert.match(captions[0], /^diffusion teacher \(Heun\): 35 NFE, \d+ ms$/);
  assert.match(captions[1], /^consistency, 1 step: 1 NFE/);
  assert.match(captions[3], /^consistency, 4 steps: 4 NFE/);
  // Then the measured chart (weights/quality.svg), fetched only now.
  await page.waitForFunction(() => !document.querySelector('#quality').hidden && document.querySelector('#quality img').naturalWidth > 0);
  assert.deepEqual(errors, []);
});

test('any digit runs at its own recommended levels, labelled digits at theirs', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?model=cd&seed=5&steps=3&label=any&count=2&backend=cpu`);
  const any = await generations(page);
  assert.match(await page.textContent('#levels'), /80\.0 → 2\.50 → 0\.250/);
  assert.deepEqual(any.steps.map((step) => step.sigma), [80, 2.5, 0.25], 'the steps run at those levels');
  await page.selectOption('#label', '3');
  await page.click('#generate');
  const three = await generations(page, any.done + 1);
  assert.match(await page.textContent('#levels'), /80\.0 → 5\.00 → 0\.500/);
  assert.ok(maxAbsDiff(three.pixels, golden.steps3) < 1e-3, 'the labelled levels give the native pixels');
  assert.match(await page.getAttribute('#share', 'href'), /steps=3&label=3/);
  assert.deepEqual(errors, []);
});

test('a share link reproduces exactly the same images', async () => {
  const first = await openPage(env.browser, `${env.url}?model=cd&seed=77&steps=2&label=any&count=4&backend=cpu`);
  const a = await generations(first.page);
  const link = await first.page.getAttribute('#share', 'href');
  assert.match(link, /seed=77/);
  assert.match(link, new RegExp(`&w=${golden.fingerprint}&`), 'the link names the weights (as native Rust does)');
  const second = await openPage(env.browser, link);
  const b = await generations(second.page);
  assert.equal(b.pixels.length, 4 * 784);
  assert.deepEqual(b.pixels, a.pixels);
  assert.deepEqual(await second.page.locator('#notices li').allTextContents(), []);
  // A link made with weights the page no longer ships still opens, and says its images can differ.
  const old = await openPage(env.browser, link.replace(/w=[0-9a-f]{8}/, 'w=0badc0de'));
  await generations(old.page);
  const notices = await old.page.locator('#notices li').allTextContents();
  assert.equal(notices.length, 1, notices.join('\n'));
  assert.match(notices[0], /made with other cd weights or levels \(w=0badc0de\) than this page ships \(w=[0-9a-f]{8}\)/);
  assert.match(await old.page.getAttribute('#share', 'href'), new RegExp(`&w=${golden.fingerprint}&`), 'its new link names the weights in use');
  assert.deepEqual(old.errors, []);
});

test('"0-9 in turn" gives image k the digit k mod 10 however the batch is split between workers', async () => {
  const url = (label) => `${env.url}?model=cd&seed=77&steps=2&label=${label}&count=4&backend=cpu`;
  const turn = await openPage(env.browser, url('0-9'));
  const a = await generations(turn.page);
  assert.equal(await turn.page.inputValue('#label'), '0-9');
  assert.match(await turn.page.getAttribute('#share', 'href'), /label=0-9/);
  const image = (pixels, k) => pixels.slice(k * 784, (k + 1) * 784);
  for (const k of [1, 3]) {
    const fixed = await openPage(env.browser, url(k));
    const b = await generations(fixed.page);
    assert.deepEqual(image(a.pixels, k), image(b.pixels, k), `image ${k}`);
    assert.notDeepEqual(image(a.pixels, 0), image(b.pixels, 0));
  }
  assert.deepEqual(turn.errors, []);
});

test('malformed link parameters are clamped and reported in the page', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?seed=abc&steps=99&label=x&count=500&backend=cpu`);
  const cm = await generations(page);
  const notices = await page.locator('#notices li').allTextContents();
  assert.ok(notices.some((n) => /steps=99 is outside 1-8; using 8/.test(n)), notices.join('\n'));
  assert.ok(notices.some((n) => /seed="abc" is not an integer/.test(n)));
  assert.ok(notices.some((n) => /count=500 is outside 1-64; using 64/.test(n)));
  assert.equal(await page.inputValue('#steps'), '8');
  assert.equal(cm.steps.length, 8);
  assert.match(await page.getAttribute('#share', 'href'), /steps=8/);
  assert.deepEqual(errors, []);
});

test('a corrupted weights file shows an error in the page, not a blank page', async () => {
  const broken = 'test-results/broken-weights';
  await cp(FIXTURE, broken, { recursive: true });
  const bytes = await readFile(`${broken}/cd.bpk`);
  bytes[bytes.length - 10] ^= 0xff;
  await writeFile(`${broken}/cd.bpk`, bytes);
  const other = await launch({ weightsDir: broken });
  try {
    const { page } = await openPage(other.browser, `${other.url}?backend=cpu`);
    const cm = await generations(page);
    assert.ok(cm.errors.some((e) => /does not match its manifest/.test(e)), cm.errors.join('\n'));
    assert.match(await page.textContent('#status'), /^error: .*sha256/);
    assert.ok((await page.textContent('h1')).length > 0);
  } finally {
    await other.close();
  }
});

test('without WebGPU the page falls back to the CPU, also when WebGPU was asked for', async () => {
  const other = await launch({ weightsDir: FIXTURE, webgpu: false });
  try {
    const auto = await openPage(other.browser, `${other.url}${STATE}&steps=1`);
    const a = await generations(auto.page);
    assert.equal(a.backend, 'cpu');
    assert.match(await auto.page.getAttribute('#badge', 'data-reason'), /no adapter|no WebGPU/);
    const forced = await openPage(other.browser, `${other.url}${STATE}&steps=1&backend=webgpu`);
    const f = await generations(forced.page);
    assert.equal(f.backend, 'cpu');
    assert.ok(maxAbsDiff(f.pixels, golden.steps1) < 1e-3);
    const notices = await forced.page.locator('#notices li').allTextContents();
    assert.ok(notices.some((n) => /WebGPU was asked for but is unavailable .*using the CPU/.test(n)), notices.join('\n'));
  } finally {
    await other.close();
  }
});

test('live mode regenerates as a control moves, and the link follows', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}${STATE}&steps=1&backend=cpu`);
  await generations(page);
  await page.check('#live');
  const before = await page.evaluate(() => window.cm.done);
  await page.fill('#seed', '1234');
  await page.dispatchEvent('#seed', 'input');
  const cm = await generations(page, before + 1);
  assert.match(await page.getAttribute('#share', 'href'), /seed=1234/);
  await page.fill('#steps', '3');
  await page.dispatchEvent('#steps', 'input');
  const after = await generations(page, cm.done + 1);
  assert.equal(after.steps.length, 3);
  assert.equal(await page.textContent('#steps-out'), '3');
  assert.deepEqual(errors, []);
});
