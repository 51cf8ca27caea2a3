// The edit modes of the page (inpainting, stroke-guided, denoising, interpolation), driven through
// the page with synthetic pointer events, against the fixture model (examples/browser_fixture.rs).
// These check the mechanics (known pixels kept, levels, links); tests/browser/shipped.test.mjs
// checks the quality with the trained weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURE, generations, launch, openPage, readFixture } from './chromium.mjs';

await readFixture();
let env;
before(async () => { env = await launch({ weightsDir: FIXTURE }); });
after(async () => { await env?.close(); });

/** Drags the pointer over the drawing canvas through `points` given in image pixels (0-28). */
async function draw(page, points) {
  const box = await page.locator('#sketch').boundingBox();
  const at = ([x, y]) => [box.x + (x / 28) * box.width, box.y + (y / 28) * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

/** Clicks the run button and waits for that run to finish. */
async function run(page) {
  const before = await page.evaluate(() => window.cm.done);
  await page.click('#generate');
  return generations(page, before + 1);
}

test('inpainting through the page keeps every known pixel exactly, and its link reproduces it', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?mode=inpaint&seed=5&steps=2&count=2&backend=cpu`);
  await generations(page);
  assert.equal(await page.isVisible('#sketch'), true);
  assert.equal(await page.isVisible('#strength'), false);
  await draw(page, [[2, 10], [26, 12], [26, 16]]); // erase a band
  const cm = await run(page);
  const { values, mask } = await page.evaluate(() => window.cm.drawing());
  const hidden = mask.filter((m) => m === 0).length;
  assert.ok(hidden > 40 && hidden < 400, `${hidden} pixels erased`);
  assert.equal(cm.mode, 'inpaint');
  assert.equal(cm.steps.length, 2);
  assert.equal(cm.pixels.length, 2 * 784);
  for (let i = 0; i < cm.pixels.length; i++) {
    if (mask[i % 784]) assert.ok(Math.abs(cm.pixels[i] - values[i % 784]) < 1e-6, `known pixel ${i} changed`);
  }
  assert.ok(cm.pixels.some((v, i) => !mask[i % 784] && Math.abs(v - values[i % 784]) > 1e-3), 'the hole is filled in');
  const link = await page.getAttribute('#share', 'href');
  assert.match(link, /mode=inpaint&img=[A-Za-z0-9_-]+$/);
  const again = await openPage(env.browser, link);
  const b = await generations(again.page);
  assert.deepEqual(b.pixels, cm.pixels);
  assert.deepEqual(await again.page.evaluate(() => window.cm.drawing().mask), mask);
  assert.deepEqual(errors, []);
});

test('a scribble is noised to the strength level and refined from there; the link holds the drawing', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?mode=stroke&seed=3&steps=3&count=1&strength=2.5&backend=cpu`);
  await generations(page);
  await page.click('#clear');
  await draw(page, [[14, 4], [14, 24]]); // a "1"
  const cm = await run(page);
  const drawing = await page.evaluate(() => window.cm.drawing());
  assert.ok(drawing.values.filter((v) => v > 0).length > 20, 'the stroke is in the drawing');
  assert.equal(cm.mode, 'stroke');
  assert.equal(cm.steps.length, 3);
  assert.equal(cm.steps[0].sigma, 2.5, 'the loop starts at the strength level');
  assert.ok(cm.steps[1].sigma < 2.5 && cm.steps[2].sigma < cm.steps[1].sigma);
  assert.equal(await page.locator('#strip .step').count(), 3);
  const link = await page.getAttribute('#share', 'href');
  assert.match(link, /strength=2\.5&img=/);
  const again = await openPage(env.browser, link);
  assert.deepEqual((await generations(again.page)).pixels, cm.pixels);
  assert.deepEqual(errors, []);
});

test('denoising starts at the noise slider level, and moving the slider changes the link', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?mode=denoise&seed=4&steps=2&count=1&noise=0.3&backend=cpu`);
  const first = await generations(page);
  assert.equal(first.mode, 'denoise');
  assert.equal(first.steps[0].sigma, 0.3);
  assert.ok((await page.evaluate(() => window.cm.drawing())).values.some((v) => v > -1), 'starts from the seed\'s digit');
  await page.fill('#noise', '800'); // log scale: 0.01 * 8000^0.8
  await page.dispatchEvent('#noise', 'input');
  const cm = await run(page);
  assert.ok(Math.abs(cm.steps[0].sigma - 0.01 * 8000 ** 0.8) < 0.05, String(cm.steps[0].sigma));
  assert.match(await page.getAttribute('#share', 'href'), new RegExp(`noise=${cm.steps[0].sigma}&`));
  assert.deepEqual(errors, []);
});

test('switching to the morph turns "0-9 in turn" into any digit, in the menu and the link', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?seed=11&steps=1&count=2&backend=cpu`);
  await generations(page);
  assert.equal(await page.inputValue('#label'), '0-9');
  await page.check('input[name=mode][value=interpolate]');
  assert.equal(await page.inputValue('#label'), 'any');
  assert.equal(await page.locator('#label option[value="0-9"]').isDisabled(), true);
  assert.match(await page.getAttribute('#share', 'href'), /label=any/);
  await page.check('input[name=mode][value=generate]');
  assert.equal(await page.locator('#label option[value="0-9"]').isDisabled(), false);
  assert.deepEqual(errors, []);
});

test('the morph at t = 0 is exactly seed A\'s image and its path ends at seed B\'s', async () => {
  const plain = async (seed) => {
    const { page } = await openPage(env.browser, `${env.url}?seed=${seed}&steps=2&label=4&count=1&backend=cpu`);
    return (await generations(page)).pixels;
  };
  const { page, errors } = await openPage(env.browser, `${env.url}?mode=interpolate&seed=11&seedB=12&t=0&steps=2&label=4&count=5&backend=cpu`);
  const cm = await generations(page);
  assert.equal(cm.mode, 'interpolate');
  assert.equal(cm.pixels.length, 6 * 784, 'the slider frame, then a path of 5');
  const [a, b] = [await plain(11), await plain(12)];
  assert.deepEqual(cm.pixels.slice(0, 784), a);
  assert.deepEqual(cm.pixels.slice(784, 2 * 784), a);
  assert.deepEqual(cm.pixels.slice(5 * 784), b);
  assert.equal(await page.isVisible('#morph-view'), true);
  await page.click('#animate');
  await page.waitForFunction(() => Number(document.getElementById('t').value) > 0.1);
  await page.click('#animate');
  assert.match(await page.getAttribute('#share', 'href'), /mode=interpolate&seedB=12&t=0/);
  assert.deepEqual(errors, []);
});
