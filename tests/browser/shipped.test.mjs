// The shipped weights (weights/) in the page: digits, not noise, on the CPU backend.
// The weights are committed, so a model that weights/index.json does not list is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { generations, launch, openPage } from './chromium.mjs';

const index = JSON.parse(await readFile('weights/index.json', 'utf8'));
const shipped = index.models.filter((m) => m.kind === 'cd' || m.kind === 'ct').map((m) => m.name);
const assertShipped = (name) => assert.ok(shipped.includes(name), `weights/index.json lists no ${name} model: the shipped weights are committed in weights/`);

/** Simple statistics of 28x28 images in [-1, 1] that separate digits from blanks and noise. */
export function digitStats(pixels) {
  const n = pixels.length / 784;
  let dark = 0, bright = 0, jumps = 0;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 784; p++) {
      const v = pixels[i * 784 + p];
      if (v < -0.5) dark++;
      if (v > 0.5) bright++;
      if (p % 28 < 27) jumps += Math.abs(v - pixels[i * 784 + p + 1]);
    }
  }
  return { dark: dark / (784 * n), bright: bright / (784 * n), roughness: jumps / (27 * 28 * n) };
}

for (const name of ['cd', 'ct']) {
  test(`shipped ${name} weights make digit-like images in the page`, async () => {
    assertShipped(name);
    const env = await launch();
    try {
      const { page, errors } = await openPage(env.browser, `${env.url}?model=${name}&seed=3&steps=2&count=16&backend=cpu`);
      const cm = await generations(page);
      assert.deepEqual(cm.errors, []);
      const stats = digitStats(cm.pixels);
      assert.ok(stats.dark > 0.6, `mostly dark background: ${JSON.stringify(stats)}`);
      assert.ok(stats.bright > 0.05 && stats.bright < 0.35, `some bright strokes: ${JSON.stringify(stats)}`);
      assert.ok(stats.roughness < 0.35, `smooth strokes, not noise: ${JSON.stringify(stats)}`);
      assert.deepEqual(errors, []);
    } finally {
      await env.close();
    }
  });
}

test('shipped cd weights: a scribble drawn in the page becomes a digit-like image', async () => {
  assertShipped('cd');
  const env = await launch();
  try {
    const { page, errors } = await openPage(env.browser, `${env.url}?model=cd&mode=stroke&strength=2&seed=1&steps=2&count=4&backend=cpu`);
    await generations(page);
    await page.click('#clear');
    const box = await page.locator('#sketch').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.18);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.46, box.y + box.height * 0.82, { steps: 12 });
    await page.mouse.up();
    const done = await page.evaluate(() => window.cm.done);
    await page.click('#generate');
    const cm = await generations(page, done + 1);
    assert.equal(cm.mode, 'stroke');
    const stats = digitStats(cm.pixels);
    assert.ok(stats.dark > 0.6 && stats.bright > 0.03 && stats.roughness < 0.35, JSON.stringify(stats));
    assert.deepEqual(errors, []);
  } finally {
    await env.close();
  }
});
