// Static server for the demo page: www/ at the root, plus /pkg/ (the wasm build) and /weights/.
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1]
// Also imported by the browser tests (startServer), which ask for port 0 (any free port).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEFAULT_MOUNTS = { '/pkg/': join(ROOT, 'pkg'), '/weights/': join(ROOT, 'weights') };
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bpk': 'application/octet-stream',
};

/** Maps a URL path to a file under ROOT, or null when it would leave its folder. */
function fileFor(urlPath, wwwDir, mounts) {
  let base = wwwDir;
  let rest = urlPath;
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (urlPath.startsWith(prefix)) {
      base = dir;
      rest = urlPath.slice(prefix.length);
    }
  }
  if (rest === '/' || rest === '') rest = 'index.html';
  const file = normalize(join(base, decodeURIComponent(rest)));
  return file.startsWith(base + sep) || file === base ? file : null;
}

/**
 * Serves the page. `weightsDir` replaces weights/ (the tests serve fixtures and broken files).
 */
export function startServer({ port = 8080, host = '127.0.0.1', wwwDir = join(ROOT, 'www'), weightsDir } = {}) {
  const mounts = { ...DEFAULT_MOUNTS, ...(weightsDir ? { '/weights/': resolve(weightsDir) } : {}) };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    const file = fileFor(path, wwwDir, mounts);
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-cache',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`not found: ${path}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const server = await startServer({ port: Number(arg('--port', 8080)), host: arg('--host', '127.0.0.1') });
  const { address, port } = server.address();
  console.log(`Serving the demo on http://${address}:${port}/  (Ctrl-C to stop)`);
}
