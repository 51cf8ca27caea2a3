// Static server for the demo page: www/ at the root, plus /pkg/ (the wasm build) and /weights/.
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1]
// Also imported by the browser tests (startServer), which ask for port 0 (any free port).
// Any page open in the same browser can send it requests, so no request may stop it: every
// request is answered (400 for a path it cannot read, 404 for one outside its folders or not a
// file, 405 for a method other than GET and HEAD), and none can reach a file outside www/, pkg/
// and weights/ or list a folder (tests/browser/serve.test.mjs).
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
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

/**
 * The page's Content-Security-Policy. www/index.html carries the same policy in a <meta> tag, so
 * that any static host applies it (a test checks the two agree); the header adds what a <meta>
 * policy cannot hold (frame-ancestors) and also covers the CPU workers, whose scripts get their
 * own policy from their response, not from the page. Why each source is allowed:
 *   default-src 'none'                         nothing that is not listed below;
 *   script-src 'self' 'wasm-unsafe-eval'       the page's own modules and the wasm library, which
 *                                              the page compiles (WebAssembly.compile needs
 *                                              'wasm-unsafe-eval'; no JS eval is allowed);
 *   worker-src 'self'                          the CPU backend's workers (www/cpu-worker.js);
 *   connect-src 'self'                         fetching the .wasm and the weights;
 *   img-src 'self'                             the favicon (canvases need no source);
 *   style-src 'self'                           style.css (no inline styles);
 *   base-uri, form-action, object-src 'none'   nothing uses them.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');
/** What only a header can say: no site may frame the page. */
const CSP_HEADER = `${CSP}; frame-ancestors 'none'`;

/** Longer request targets get 414: no file here has a path near this long. */
const MAX_URL = 2048;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Maps a request target to a file under one of the served folders. Throws HttpError 400 for a
 * target that is no valid URL or whose path is no valid percent-encoding, 404 for one that would
 * leave its folder.
 */
function fileFor(target, wwwDir, mounts) {
  let path;
  try {
    // Dot segments ("/../", "/%2e%2e/") are resolved here, within the URL: they cannot climb above "/".
    path = new URL(target, 'http://localhost').pathname;
  } catch {
    throw new HttpError(400, 'bad request: not a valid URL');
  }
  let base = wwwDir;
  let rest = path;
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (path.startsWith(prefix)) {
      base = dir;
      rest = path.slice(prefix.length);
    }
  }
  if (rest === '/' || rest === '') rest = 'index.html';
  let decoded;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw new HttpError(400, 'bad request: malformed percent-encoding in the path');
  }
  if (decoded.includes('\0')) throw new HttpError(400, 'bad request: a NUL byte in the path');
  // An encoded "/" or "\" ("..%2f") only becomes a separator here, after decoding: check again.
  const file = normalize(join(base, decoded));
  if (!file.startsWith(base + sep)) throw new HttpError(404, `not found: ${path}`);
  return { file, base, path };
}

/** The file's contents, if it is a regular file that (after symbolic links) is still inside `base`. */
async function readInside(file, base) {
  const [real, realBase] = await Promise.all([realpath(file), realpath(base)]);
  if (!real.startsWith(realBase + sep) || !(await stat(real)).isFile()) return null;
  return readFile(real);
}

/**
 * Serves the page. `weightsDir` replaces weights/ (the tests serve fixtures and broken files);
 * `policyHeader: false` leaves out the Content-Security-Policy header, as a plain static host
 * would, so that the tests see what the page's <meta> policy does alone.
 */
export function startServer({ port = 8080, host = '127.0.0.1', wwwDir = join(ROOT, 'www'), weightsDir, policyHeader = true } = {}) {
  const mounts = { ...DEFAULT_MOUNTS, ...(weightsDir ? { '/weights/': resolve(weightsDir) } : {}) };
  const www = resolve(wwwDir);
  const server = createServer(async (req, res) => {
    // On every response, errors included: browsers must not guess a type other than the one sent.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (policyHeader) res.setHeader('Content-Security-Policy', CSP_HEADER);
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, 'method not allowed');
      }
      if (req.url.length > MAX_URL) throw new HttpError(414, 'request target too long');
      const { file, base, path } = fileFor(req.url, www, mounts);
      const body = await readInside(file, base).catch(() => null);
      if (!body) throw new HttpError(404, `not found: ${path}`);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
      });
      res.end(body);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const text = Buffer.from(`${e instanceof HttpError ? e.message : 'internal error'}\n`);
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': text.length });
      res.end(text);
    }
  });
  // Requests Node's parser refuses (a header too large, a malformed request line) get its own
  // 4xx answer; only the one connection is closed.
  server.on('clientError', (err, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\n\r\n`);
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
