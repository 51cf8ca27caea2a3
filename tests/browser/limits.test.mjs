// The page's limits (www/state.js) against the wasm library's (`limits()`): every link the page
// can make must run. Checked twice: on paper, what `demand` says each run asks for against what
// `limits()` allows, for every mode and any link; and in the page, each mode opened at the page's
// maximum values, against the fixture model (examples/browser_fixture.rs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FIXTURE, generations, launch, openPage, readFixture } from './chromium.mjs';
import { COMPARE_STEPS, MAX_COUNT, MAX_STEPS, MODES, SIGMA_RANGE, demand, formatState, parseState } from '../../www/state.js';

await readFixture();
let env;
let lib; // the library's limits, read in the page
before(async () => {
  env = await launch({ weightsDir: FIXTURE });
  const { page } = await openPage(env.browser, `${env.url}?count=1&steps=1&backend=cpu`);
  await page.waitForFunction(() => window.cm?.ready);
  lib = await page.evaluate(async () => (await import('/pkg/consistency_models.js')).limits());
  await page.close();
});
after(async () => { await env?.close(); });

/** MAX_STEPS - 1 explicit levels (the most a link takes), decreasing within (0.002, 80). */
const MOST_LEVELS = Array.from({ length: MAX_STEPS - 1 }, (_, i) => Number((40 / 2 ** i).toPrecision(3)));
/** The link of each mode at the page's maximum values; generate also with the most explicit levels. */
const LINKS = [
  ...MODES.map((mode) => [mode, `?mode=${mode}&steps=${MAX_STEPS}&count=${MAX_COUNT}&label=any&seed=3`]),
  ['generate', `?levels=${MOST_LEVELS.join(',')}&count=${MAX_COUNT}&label=any&seed=3`],
];

/** `d` (a `demand`) fits in the library's limits. */
function assertWithin(d, what) {
  assert.ok(d.steps >= 1 && d.steps <= lib.steps, `${what}: ${d.steps} steps, the library takes ${lib.steps}`);
  assert.ok(d.levels <= lib.steps, `${what}: levels of ${d.levels}, the library takes ${lib.steps}`);
  assert.ok(d.images >= 1 && d.images <= lib.images, `${what}: ${d.images} images, the library takes ${lib.images}`);
}

test('the library states its limits, and the page\'s maximum runs of every mode fit in them', () => {
  assert.deepEqual(Object.keys(lib).sort(), ['images', 'sigma', 'steps']);
  assert.deepEqual(lib.sigma, [...SIGMA_RANGE], 'the page checks links\' levels against the library\'s range');
  assert.ok(Number.isInteger(lib.steps) && Number.isInteger(lib.images));
  for (const [mode, link] of LINKS) {
    const { state, notes } = parseState(link);
    assert.deepEqual(notes, [], link);
    assert.equal(state.mode, mode);
    assertWithin(demand(state), link);
  }
  // A morph makes the slider's frame and the path: one image more than the page's count.
  assert.equal(demand(parseState(LINKS[4][1]).state).images, MAX_COUNT + 1);
  // The comparison's fixed calls, and the animation's (one position, the state's steps).
  for (const steps of [COMPARE_STEPS.teacher, ...COMPARE_STEPS.consistency]) assertWithin({ steps, levels: steps, images: 1 }, `compare at ${steps} steps`);
});

test('whatever link the page is given, its run fits in the library\'s limits', () => {
  const value = fc.oneof(fc.integer({ min: -10, max: 1000 }).map(String), fc.constantFrom(...MODES, 'any', '0-9', '7'),
    fc.array(fc.double({ min: 0, max: 90, noNaN: true }), { maxLength: 70 }).map((a) => a.sort((x, y) => y - x).join(',')));
  const link = fc.array(fc.tuple(fc.constantFrom('mode', 'steps', 'count', 'levels', 'label'), value), { maxLength: 6 })
    .map((pairs) => `?${new URLSearchParams(pairs)}`);
  fc.assert(fc.property(link, (q) => {
    const { state } = parseState(q);
    assertWithin(demand(state), q);
    assertWithin(demand(parseState(formatState(state)).state), `the link the page writes for ${q}`);
  }), { seed: 20261130, numRuns: 3000 });
});

for (const [mode, link] of LINKS) {
  test(`${mode} at the page's maximum (${link}) runs in the page without an error`, async () => {
    const { page, errors } = await openPage(env.browser, `${env.url}${link}&backend=cpu`);
    const cm = await generations(page, 1, 300_000);
    const { state } = parseState(link);
    assert.deepEqual(cm.errors, []);
    assert.equal(cm.mode, mode);
    assert.equal(cm.steps.length, demand(state).steps);
    assert.equal(cm.pixels.length, demand(state).images * 784);
    assert.deepEqual(await page.locator('#notices li.error').allTextContents(), []);
    // The controls offer what the link does: the page's limits, not other numbers.
    assert.equal(await page.getAttribute('#steps', 'max'), String(MAX_STEPS));
    assert.equal(await page.getAttribute('#count', 'max'), String(MAX_COUNT));
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('generate at the page\'s maximum also runs as one call of the library (the CPU pool splits a batch)', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?count=1&steps=1&backend=cpu`);
  await generations(page);
  const { state } = parseState(LINKS[0][1]);
  const lengths = await page.evaluate(async ({ steps, count, levels }) => {
    const { Generator } = await import('/pkg/consistency_models.js');
    const manifest = await (await fetch('/weights/cd.json')).text();
    const weights = new Uint8Array(await (await fetch('/weights/cd.bpk')).arrayBuffer());
    const gen = await Generator.load(manifest, weights, 'cpu');
    const byLevels = await gen.generate({ seed: 3, levels: gen.levels(steps), count });
    const explicit = await gen.generate({ seed: 3, levels: [gen.levels(1)[0], ...levels], count });
    return [byLevels.length, explicit.length];
  }, { steps: demand(state).steps, count: state.count, levels: MOST_LEVELS });
  assert.deepEqual(lengths, [MAX_COUNT * 784, MAX_COUNT * 784]);
  assert.deepEqual(errors, []);
});
