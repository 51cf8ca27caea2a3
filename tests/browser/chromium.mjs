// Launches Debian's Chromium headless (never a downloaded browser) and serves the page.
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

/**
 * The browser tests' fixture (served as weights/): a small random CD model and teacher, and
 * golden.json, the pixels the native build made from them. Written by its own step, which
 * scripts/test.sh runs before the browser tests.
 */
export const FIXTURE = 'test-results/fixture';

/** The fixture's golden.json; if the fixture is missing, an error that says how to write it. */
export async function readFixture() {
  try {
    return JSON.parse(await readFile(`${FIXTURE}/golden.json`, 'utf8'));
  } catch (e) {
    throw new Error(`the browser tests' fixture is missing or unreadable (${e.message}): write it with \`cargo run --release --features train --example browser_fixture\``);
  }
}

const BASE_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
];

/**
 * Starts the static server (on a free port, `weightsDir` as weights/ if given) and a headless
 * Chromium; `webgpu: false` leaves out --enable-unsafe-webgpu, so the browser offers no adapter;
 * `policyHeader: false` serves without the CSP header (the page's <meta> policy alone).
 */
export async function launch({ weightsDir, webgpu = true, policyHeader = true } = {}) {
  const server = await startServer({ port: 0, weightsDir, policyHeader });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    ignoreDefaultArgs: ['--headless'],
    args: webgpu ? [...BASE_ARGS, '--enable-unsafe-webgpu'] : BASE_ARGS,
  });
  const { port } = server.address();
  return {
    browser,
    url: `http://127.0.0.1:${port}/`,
    async close() {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    },
  };
}

/**
 * Opens `url` in a new page, collecting console errors (the page's and its workers') and uncaught
 * exceptions. Content-Security-Policy violations count as errors too, so every test that expects
 * no error checks that the page runs under its policy: the page reports each as a console error
 * (and the CPU workers report theirs, which Chromium logs where this listener does not reach).
 */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'an inline resource'} (${e.sourceFile || 'the page'}:${e.lineNumber})`);
    });
  });
  await page.goto(url);
  return { page, errors };
}

/** Waits until the page has finished `n` generations (successful or not); returns window.cm. */
export async function generations(page, n = 1, timeout = 120_000) {
  await page.waitForFunction((k) => window.cm && window.cm.done >= k, n, { timeout });
  return page.evaluate(() => window.cm);
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}
