// The demo page in real headless Chromium: it loads, generates, and shows every refinement step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { launch, openPage } from './chromium.mjs';

let env;
before(async () => { env = await launch(); });
after(async () => { await env?.close(); });

test('the page loads without errors and draws one cell per refinement step', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await page.waitForFunction(() => /^(done|error)/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent('#status'), /^done \((cpu|webgpu)\)/);
  assert.equal(await page.locator('#strip .step').count(), 2, 'default is 2 steps');

  await page.fill('#seed', '7');
  await page.locator('#steps').fill('4');
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#strip .step').length === 4 && /^done/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  const captions = await page.locator('#strip .step span').allTextContents();
  assert.equal(captions.length, 4);
  assert.match(captions[0], /^step 1: σ=80\.0/);

  await mkdir('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/page.png', fullPage: true });
  assert.deepEqual(errors, []);
});
