// The dev server (scripts/serve.mjs) against hostile requests, over raw TCP so that each request
// target reaches it exactly as written. Any page open in the same browser can send these, so
// the server must answer each (never crash: it runs inside this test process, so a crash fails
// every test here), serve nothing outside its folders, list no folder, and keep serving after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSP, startServer } from '../../scripts/serve.mjs';

/** Sends `target` with `method` over a fresh connection; resolves to `{status, headers, body}`. */
function request(server, target, { method = 'GET', raw } = {}) {
  const { port } = server.address();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    // Written, not ended: a client that half-closes may be dropped before its answer.
    socket.write(raw ?? `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

let server; // serving the real www/, pkg/ and weights/
let sandbox; // a www/ of our own: a folder, a symbolic link out of it
let tmp;
const index = await readFile('www/index.html', 'latin1');
const secret = 'SECRET-NEXT-TO-THE-SERVED-FOLDER';

before(async () => {
  server = await startServer({ port: 0 });
  tmp = await mkdtemp(join(tmpdir(), 'serve-test-'));
  await mkdir(join(tmp, 'www/sub/deeper'), { recursive: true });
  await writeFile(join(tmp, 'www/index.html'), '<!doctype html><title>sandbox</title>');
  await writeFile(join(tmp, 'www/sub/listed-name.txt'), 'inside');
  await writeFile(join(tmp, 'secret.txt'), secret);
  await symlink(join(tmp, 'secret.txt'), join(tmp, 'www/link-out.txt'));
  await symlink(tmp, join(tmp, 'www/dir-out'));
  sandbox = await startServer({ port: 0, wwwDir: join(tmp, 'www') });
});
after(async () => {
  await new Promise((ok) => server.close(ok));
  await new Promise((ok) => sandbox.close(ok));
  await rm(tmp, { recursive: true, force: true });
});

/** The server still serves the page. */
async function assertAlive(s = server) {
  const r = await request(s, '/');
  assert.equal(r.status, 200);
  if (s === server) assert.equal(r.body, index);
}

test('malformed percent-encodings get 400, and the server keeps serving', async () => {
  for (const target of ['/%', '/%zz', '/a%2', '/%ff', '/%e0%a4%a', '/%c0%af', '/pkg/%', '/weights/%ff%fe', '/%00', '/x%00.html']) {
    const r = await request(server, target);
    assert.equal(r.status, 400, target);
    assert.match(r.body, /^bad request/, target);
    await assertAlive();
  }
});

test('request targets that are no valid URL get 400, and the server keeps serving', async () => {
  for (const target of ['//[', '//[::1', 'http://[/', '//a%', '//%', '//a:99999/', 'http://a b/']) {
    const r = await request(server, target.replace(' ', '%20'));
    assert.equal(r.status, 400, target);
    await assertAlive();
  }
  // What Node's own parser refuses (a broken request line) gets its 400, on that connection only.
  const broken = await request(server, null, { raw: 'GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n' });
  assert.equal(broken.status, 400);
  await assertAlive();
});

test('no path climbs out of www/, pkg/ or weights/, however it is encoded', async () => {
  const pkg = await readFile('package.json', 'latin1');
  const targets = [
    '/../package.json', '/../../package.json', '/%2e%2e/package.json', '/%2E%2E/package.json', '/.%2e/package.json',
    '/%2e%2e%2fpackage.json', '/..%2fpackage.json', '/..%2f..%2fetc%2fpasswd', '/..%5cpackage.json', '/%2e%2e%5cpackage.json',
    '/..\\package.json', '/www/../package.json', '/%252e%252e%252fpackage.json', '/.%00./package.json',
    '/pkg/..%2fpackage.json', '/pkg/%2e%2e%2fpackage.json', '/pkg/..%2f..%2fpackage.json', '/pkg/%2e%2e/package.json',
    '/weights/..%2fpackage.json', '/weights/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/weights/..%5c..%5cpackage.json',
    'http://127.0.0.1/../package.json', '/weights/..%2fscripts%2fserve.mjs', '/..%2fscripts/serve.mjs',
  ];
  for (const target of targets) {
    const r = await request(server, target);
    assert.ok(r.status === 404 || r.status === 400, `${target}: ${r.status}`);
    assert.ok(!r.body.includes(pkg.slice(0, 40)) && !r.body.includes('createServer'), `${target} leaked a file`);
    await assertAlive();
  }
  // Symbolic links inside the folder that lead out of it are not followed out.
  for (const target of ['/link-out.txt', '/dir-out/secret.txt', '/dir-out/www/..%2fsecret.txt']) {
    const r = await request(sandbox, target);
    assert.equal(r.status, 404, target);
    assert.ok(!r.body.includes(secret));
  }
  await assertAlive(sandbox);
});

test('a folder is never listed, with or without its slash, and the mounts only serve files', async () => {
  for (const target of ['/sub', '/sub/', '/sub/deeper/', '/sub/.', '/sub/%2e', '/dir-out/']) {
    const r = await request(sandbox, target);
    assert.equal(r.status, 404, target);
    assert.ok(!r.body.includes('listed-name'), `${target} lists the folder`);
  }
  assert.equal((await request(sandbox, '/sub/listed-name.txt')).status, 200);
  for (const target of ['/pkg/', '/pkg', '/weights/', '/weights', '/weights/.', '/pkg//', '//weights/index.json']) {
    const r = await request(server, target);
    assert.equal(r.status, 404, target);
    assert.ok(!r.body.includes('index.json') || target.includes('index.json'), `${target} lists the folder`);
  }
  assert.equal((await request(server, '/weights/index.json')).status, 200);
  await assertAlive();
});

test('very long request targets are refused, and the server keeps serving', async () => {
  const long = await request(server, `/${'a'.repeat(3000)}`);
  assert.equal(long.status, 414);
  const huge = await request(server, `/${'%2e%2e%2f'.repeat(20000)}`); // past Node's 16 kB header limit
  assert.equal(huge.status, 431);
  await assertAlive();
});

test('every answer carries nosniff, the page its policy, and only GET and HEAD are served', async () => {
  const targets = ['/', '/app.js', '/style.css', '/weights/index.json', '/no-such-file', '/%', '//[', `/${'a'.repeat(3000)}`];
  for (const target of targets) {
    const r = await request(server, target);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', `${target} (${r.status})`);
  }
  const page = await request(server, '/');
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['content-security-policy'], `${CSP}; frame-ancestors 'none'`);
  assert.equal((await request(server, '/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  const head = await request(server, '/', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await request(server, '/', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
  await assertAlive();
});

test('the page carries the same policy in a <meta> tag, first in its <head>, for any static host', async () => {
  const meta = index.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
  assert.ok(meta, 'index.html has a CSP <meta> tag');
  assert.equal(meta[1], CSP);
  assert.ok(index.indexOf(meta[0]) < index.search(/<link|<script|<style/), 'before anything it governs');
  // The policy holds the minimum the issue asks for.
  for (const directive of ["script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'", "default-src 'none'"]) {
    assert.ok(CSP.split('; ').includes(directive), directive);
  }
});
