// Download size (a tool, not a test).
const USAGE = `node scripts/size.mjs
Raw and gzipped (GNU gzip -9) bytes of what the page loads by default: the wasm library and its JS,
every file of www/, the model index and the default model (CD, or CT when no CD is shipped).
Prints a Markdown table (README's "Size and speed"); the goal is at most 3 MB (3,000,000 bytes)
gzipped in all. Needs the wasm build in pkg/ (scripts/build-wasm.sh).`;
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const root = new URL('../', import.meta.url);
const read = (path) => readFileSync(new URL(path, root));
const index = JSON.parse(read('weights/index.json'));
const model = index.models.find((m) => m.name === 'cd') ?? index.models.find((m) => m.name === 'ct');
const www = readdirSync(new URL('www/', root)).map((f) => `www/${f}`);
const groups = [
  ['`pkg/consistency_models_bg.wasm`', ['pkg/consistency_models_bg.wasm']],
  ['`pkg/consistency_models.js`', ['pkg/consistency_models.js']],
  [`\`www/\` (${www.length} files: HTML, CSS, ES modules)`, www],
  [`\`weights/${model.file}\` + \`${model.manifest}\` + \`index.json\``, [`weights/${model.file}`, `weights/${model.manifest}`, 'weights/index.json']],
];
const mb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${Math.round(n / 1e3)} kB`);
const total = { raw: 0, gz: 0 };
console.log('| file | raw | gzipped |\n|---|---:|---:|');
for (const [name, files] of groups) {
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const bytes = read(f);
    raw += bytes.length;
    gz += execFileSync('gzip', ['-9c', fileURLToPath(new URL(f, root))], { maxBuffer: 1 << 26 }).length;
  }
  total.raw += raw;
  total.gz += gz;
  console.log(`| ${name} | ${mb(raw)} | ${mb(gz)} |`);
}
const verdict = total.gz <= 3e6 ? 'met' : '**not met**';
console.log(`| **total** | ${mb(total.raw)} | **${mb(total.gz)}** (${total.gz.toLocaleString('en')} bytes; goal: at most 3 MB, ${verdict}) |`);
