// The page: a thin driver of the wasm API (pkg/consistency_models.js). It keeps the whole state in
// the URL, picks a backend, loads models on demand, and draws every step as it arrives.
import init, { Generator } from '../pkg/consistency_models.js';
import { chooseBackend } from './backend.js';
import { gridCanvas, imageCanvas } from './draw.js';
import { formatState, parseState, randomSeed } from './state.js';

const $ = (id) => document.getElementById(id);
const page = {
  state: null,
  index: { models: [] },
  backend: { backend: 'cpu', reason: '' },
  generators: new Map(), // "model@backend" -> Promise<Generator>
  run: 0, // id of the newest generation; older ones stop drawing
  pixels: null,
};
// What the browser tests read.
window.cm = { ready: false, done: 0, steps: [], pixels: null, errors: [] };

function notice(text, isError = false) {
  const li = document.createElement('li');
  li.textContent = text;
  if (isError) li.className = 'error';
  $('notices').append(li);
  if (isError) window.cm.errors.push(text);
}

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function showBadge() {
  const { backend, reason, adapter } = page.backend;
  $('badge').textContent = backend === 'webgpu' ? `WebGPU: ${adapter ?? ''}` : 'CPU (WebAssembly)';
  $('badge').className = `badge ${backend}`;
  $('badge').title = reason;
  $('badge').dataset.backend = backend;
  $('badge').dataset.reason = reason;
}

async function fetchWeights(name, as) {
  const response = await fetch(`../weights/${name}`);
  if (!response.ok) throw new Error(`weights/${name}: HTTP ${response.status}`);
  return as === 'bytes' ? new Uint8Array(await response.arrayBuffer()) : response.text();
}

/** The generator of model `name` ('cd', 'ct' or 'teacher') on the current backend, loaded once. */
function generator(name) {
  const key = `${name}@${page.backend.backend}`;
  if (!page.generators.has(key)) {
    const load = async () => {
      const entry = page.index.models.find((m) => m.name === name);
      if (!entry) {
        if (name === 'teacher') throw new Error('no teacher weights are shipped (weights/index.json lists none)');
        notice(`No trained "${name}" weights are shipped yet: using a randomly initialised network, so expect noise, not digits.`);
        return Generator.random(0, undefined, page.backend.backend);
      }
      const [manifest, weights] = await Promise.all([fetchWeights(entry.manifest), fetchWeights(entry.file, 'bytes')]);
      return Generator.load(manifest, weights, page.backend.backend);
    };
    const promise = load();
    promise.catch(() => page.generators.delete(key));
    page.generators.set(key, promise);
  }
  return page.generators.get(key);
}

/** Runs `work` on the current backend; if WebGPU fails (device lost, shader error), falls back to the CPU once. */
async function withFallback(work) {
  try {
    return await work();
  } catch (e) {
    if (page.backend.backend !== 'webgpu') throw e;
    const reason = `WebGPU failed (${e.message ?? e}); switched to the CPU backend`;
    notice(reason);
    page.backend = { backend: 'cpu', reason };
    showBadge();
    return work();
  }
}

function readControls() {
  const s = page.state;
  const steps = Number($('steps').value);
  if (steps !== s.steps) s.levels = null; // moving the slider drops explicit levels
  s.seed = Math.max(0, Math.min(2 ** 53 - 1, Math.floor(Number($('seed').value) || 0)));
  s.steps = steps;
  s.label = $('label').value === 'any' ? null : Number($('label').value);
  s.count = Math.max(1, Math.min(64, Math.floor(Number($('count').value) || 1)));
  s.model = $('model').value;
  s.backend = $('backend').value;
}

function writeControls() {
  const s = page.state;
  $('seed').value = s.seed;
  $('steps').value = s.steps;
  $('steps-out').textContent = s.steps;
  $('label').value = s.label === null ? 'any' : String(s.label);
  $('count').value = s.count;
  $('model').value = s.model;
  $('backend').value = s.backend;
}

function updateLink() {
  const url = `${location.origin}${location.pathname}${formatState(page.state)}`;
  history.replaceState(null, '', url);
  $('share').href = url;
  $('share').textContent = url;
}

/** The noise levels of the current settings for `gen`: sigma_max first. */
function levelsFor(gen) {
  const s = page.state;
  return s.levels ? [gen.levels(1)[0], ...s.levels] : gen.levels(s.steps);
}

async function generate() {
  const id = ++page.run;
  readControls();
  writeControls();
  updateLink();
  const s = page.state;
  setStatus('generating…');
  $('strip').replaceChildren();
  const steps = [];
  try {
    const result = await withFallback(async () => {
      const gen = await generator(s.model);
      page.backend.adapter ??= gen.adapter;
      showBadge();
      const levels = levelsFor(gen);
      $('levels').textContent = `noise levels σ: ${Array.from(levels, (v) => v.toPrecision(3)).join(' → ')}`;
      steps.length = 0;
      $('strip').replaceChildren();
      const start = performance.now();
      const pixels = await gen.generate({ seed: s.seed, levels, label: s.label ?? undefined, count: s.count }, (info, noisy, denoised) => {
        if (id !== page.run) return;
        window.cm.firstImageMs ??= performance.now(); // time from navigation to the first image
        steps.push(info);
        const cell = document.createElement('div');
        cell.className = 'step';
        cell.append(imageCanvas(noisy, 0), imageCanvas(denoised, 0));
        const caption = document.createElement('span');
        caption.textContent = `step ${info.index + 1}: σ=${info.sigma.toPrecision(3)}, ${info.ms.toFixed(0)} ms`;
        cell.append(caption);
        $('strip').append(cell);
        $('grid').replaceChildren(gridCanvas(denoised, Math.min(8, s.count), 3));
      });
      return { pixels, ms: performance.now() - start };
    });
    if (id !== page.run) return;
    page.pixels = result.pixels;
    $('grid').replaceChildren(gridCanvas(result.pixels, Math.min(8, s.count), 3));
    $('timing').textContent = `${s.count} image${s.count > 1 ? 's' : ''}, ${steps.length} step${steps.length > 1 ? 's' : ''}, ${result.ms.toFixed(0)} ms on ${page.backend.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}`;
    setStatus('done');
    Object.assign(window.cm, { steps, pixels: Array.from(result.pixels), backend: page.backend.backend, done: window.cm.done + 1 });
  } catch (e) {
    if (id !== page.run) return;
    setStatus(`error: ${e.message ?? e}`, true);
    notice(`Generation failed: ${e.message ?? e}`, true);
    window.cm.done += 1;
  }
}

async function compare() {
  const s = page.state;
  const cells = $('comparison');
  cells.replaceChildren();
  const add = (title, pixels, detail) => {
    const cell = document.createElement('div');
    cell.className = 'compare-cell';
    const caption = document.createElement('span');
    caption.textContent = `${title}: ${detail}`;
    cell.append(imageCanvas(pixels, 0), caption);
    cells.append(cell);
  };
  const run = async (gen, levels) => {
    const start = performance.now();
    let nfe = 0;
    const pixels = await gen.generate({ seed: s.seed, levels, label: s.label ?? undefined, count: 1 }, (info) => (nfe = info.nfe));
    return { pixels, detail: `${nfe} NFE, ${(performance.now() - start).toFixed(0)} ms` };
  };
  try {
    setStatus('comparing…');
    const teacher = await generator('teacher');
    const t = await run(teacher, teacher.levels(18));
    add('diffusion teacher (Heun)', t.pixels, t.detail);
    const cm = await generator(s.model);
    for (const steps of [1, 2, 4]) {
      const r = await run(cm, cm.levels(steps));
      add(`consistency, ${steps} step${steps > 1 ? 's' : ''}`, r.pixels, r.detail);
    }
    setStatus('done');
  } catch (e) {
    setStatus(`comparison failed: ${e.message ?? e}`, true);
    notice(`Comparison failed: ${e.message ?? e}`, true);
  }
}

function downloadPng() {
  if (!page.pixels) return;
  gridCanvas(page.pixels, Math.min(8, page.state.count), 4).toBlob((blob) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `consistency-${page.state.model}-seed${page.state.seed}.png`;
    a.click();
    URL.revokeObjectURL(a.href);
  });
}

function wireControls() {
  let timer = null;
  const live = () => {
    $('steps-out').textContent = $('steps').value;
    if (!$('live').checked) return;
    clearTimeout(timer);
    timer = setTimeout(generate, 120);
  };
  for (const id of ['seed', 'steps', 'label', 'count', 'model']) $(id).addEventListener('input', live);
  $('backend').addEventListener('change', async () => {
    readControls();
    page.backend = await chooseBackend(page.state.backend);
    showBadge();
    generate();
  });
  $('dice').addEventListener('click', () => {
    $('seed').value = randomSeed();
    generate();
  });
  $('generate').addEventListener('click', generate);
  $('compare').addEventListener('click', compare);
  $('download').addEventListener('click', downloadPng);
  $('copy-link').addEventListener('click', () => navigator.clipboard?.writeText($('share').href).catch(() => {}));
}

async function main() {
  const { state, notes } = parseState(location.search);
  page.state = state;
  for (const note of notes) notice(`Link: ${note}`);
  writeControls();
  wireControls();
  await init();
  try {
    page.index = JSON.parse(await fetchWeights('index.json'));
  } catch (e) {
    notice(`Could not read the list of shipped models (${e.message}).`, true);
  }
  page.backend = await chooseBackend(state.backend);
  if (state.backend === 'webgpu' && page.backend.backend === 'cpu') {
    notice(`WebGPU was asked for but is unavailable (${page.backend.reason}); using the CPU backend.`);
  }
  showBadge();
  window.cm.ready = true;
  await generate();
}

main().catch((e) => {
  setStatus(`error: ${e.message ?? e}`, true);
  notice(`The page failed to start: ${e.message ?? e}`, true);
});
