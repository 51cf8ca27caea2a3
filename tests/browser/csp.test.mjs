// The page under its Content-Security-Policy (the <meta> tag of www/index.html, and the header
// scripts/serve.mjs adds): both backends, the CPU workers, the PNG download and opening an image
// work with no violation; and the policy is really in force (what it forbids is blocked and
// reported, which also shows that the violation checks here would see one).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURE, generations, launch, openPage, readFixture } from './chromium.mjs';

await readFixture();
const STATE = '?model=cd&seed=5&label=3&count=2&steps=2';
const isViolation = (text) => /Content.Security.Policy/i.test(text);

let env; // served with the CSP header and the <meta> policy
let bare; // served as a plain static host: the <meta> policy alone
before(async () => {
  env = await launch({ weightsDir: FIXTURE });
  bare = await launch({ weightsDir: FIXTURE, policyHeader: false });
});
after(async () => {
  await env?.close();
  await bare?.close();
});

/**
 * The directives a policy in force in `where` (a page or a worker) reports when it is asked to
 * evaluate a string as script and to fetch from another origin; [] where no policy applies.
 * (Playwright's own evaluation is exempt from the policy, the code it starts is not.)
 */
const forbidden = (where) => where.evaluate(async () => {
  const seen = [];
  const record = (e) => seen.push(e.effectiveDirective);
  self.addEventListener('securitypolicyviolation', record);
  setTimeout('self.evalRan = true', 0); // eval in disguise
  await fetch('http://127.0.0.2:9/').catch(() => {});
  await new Promise((ok) => setTimeout(ok, 100));
  self.removeEventListener('securitypolicyviolation', record);
  // Unique: with the header and the <meta> tag, two policies apply and each reports.
  return { seen: [...new Set(seen)].sort(), evalRan: self.evalRan ?? false };
});

for (const [name, host] of [['CSP header and <meta>', () => env], ['<meta> policy alone', () => bare]]) {
  test(`${name}: the CPU backend and its workers run with no violation`, async () => {
    const { page, errors } = await openPage(host().browser, `${host().url}${STATE}&backend=cpu`);
    const cm = await generations(page);
    assert.deepEqual(cm.errors, []);
    assert.equal(cm.backend, 'cpu');
    assert.equal(cm.pixels.length, 2 * 784);
    assert.ok(page.workers().length >= 1, 'the CPU backend runs in workers');
    assert.deepEqual(errors, []);
    // The checks above would have seen a violation: the policy is in force and reports.
    assert.deepEqual(await forbidden(page), { seen: ['connect-src', 'script-src'], evalRan: false }, 'in the page');
    // A worker's policy comes with its script's response, not from the page's <meta>: the header
    // gives the workers the same policy; a static host's workers run without one (they load only
    // the page's own module and wasm, which the page's policy let through).
    const inWorkers = host() === env ? { seen: ['connect-src', 'script-src'], evalRan: false } : { seen: [], evalRan: true };
    for (const worker of page.workers()) assert.deepEqual(await forbidden(worker), inWorkers, 'in a worker');
    await page.waitForTimeout(200); // the reports are queued
    assert.ok(errors.some((e) => /Content Security Policy violation: script-src/.test(e)), 'a page violation reaches the errors');
    if (host() === env) assert.ok(errors.some((e) => /violation in a CPU worker: script-src/.test(e)), 'a worker violation reaches the errors');
  });

  test(`${name}: the WebGPU backend runs with no violation`, async () => {
    const { page, errors } = await openPage(host().browser, `${host().url}${STATE}&backend=webgpu`);
    const cm = await generations(page);
    assert.deepEqual(cm.errors, []);
    assert.equal(cm.backend, 'webgpu');
    assert.deepEqual(errors, []);
  });
}

test('what the policy forbids is blocked and reported: inline script and style, other origins, data: images', async () => {
  for (const host of [env, bare]) {
    const { page, errors } = await openPage(host.browser, `${host.url}${STATE}&backend=cpu`);
    await generations(page);
    const ran = await page.evaluate(async () => {
      window.inlineRan = false;
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
      const style = document.createElement('style');
      style.textContent = 'body { background: red }';
      document.head.append(style);
      const img = new Image();
      const loaded = new Promise((ok) => { img.onload = () => ok(true); img.onerror = () => ok(false); });
      img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
      const fetched = await fetch('http://127.0.0.2:9/').then(() => true, () => false);
      return { inline: window.inlineRan, background: getComputedStyle(document.body).backgroundColor, image: await loaded, fetched };
    });
    assert.deepEqual(ran, { inline: false, background: 'rgba(0, 0, 0, 0)', image: false, fetched: false });
    await page.waitForTimeout(200); // the reports are queued
    const reported = errors.filter(isViolation).join('\n');
    for (const directive of ['script-src', 'style-src', 'img-src', 'connect-src']) assert.match(reported, new RegExp(directive));
  }
});

test('the PNG download and opening a picture work under the policy', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}${STATE}&backend=cpu`);
  await generations(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.match(download.suggestedFilename(), /^consistency-cd-seed5\.png$/);
  const png = await download.createReadStream().then(async (stream) => {
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    return Buffer.concat(chunks);
  });
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  // Opening a picture: the page's own PNG, drawn into the drawing (a canvas) and read back.
  await page.check('input[name=mode][value=stroke]');
  await page.click('#clear');
  await page.setInputFiles('#open-image', { name: 'digit.png', mimeType: 'image/png', buffer: png });
  await page.waitForFunction(() => window.cm.drawing().values.some((v) => v > -1));
  assert.deepEqual(errors, []);
});
