// The page: a thin driver of the wasm API (pkg/consistency_models.js). It keeps the whole state in
// the URL, picks a backend, loads models on demand, and draws every step as it arrives; the form
// controls and their events are controls.js's.
import init, { Generator } from '../pkg/consistency_models.js';
import { chooseBackend } from './backend.js';
import { CpuPool } from './cpu-pool.js';
import { decodeDrawing, quantize, PIXELS } from './codec.js';
import { $, readControls, setTool, showPosition, startControls, writeControls } from './controls.js';
import { gridCanvas, imageCanvas } from './draw.js';
import { Sketch } from './sketch.js';
import { COMPARE_STEPS, IN_TURN, formatState, morphPath, parseState } from './state.js';

const page = {
  state: null,
  index: { models: [] },
  backend: { backend: 'cpu', reason: '' },
  generators: new Map(), // "model@backend" -> Promise<Generator>
  wasm: null, // the compiled library, shared with the CPU workers
  pool: null, // Promise<CpuPool>, started when the CPU backend is first used
  poolSize: 0,
  run: 0, // id of the newest generation; older ones stop drawing
  pixels: null,
  sketch: null, // the drawing canvas of the edit modes
  animating: false,
  linkWeights: null, // the link's `w`, checked against the model at the first generation
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
  const workers = page.poolSize > 1 ? `, ${page.poolSize} workers` : '';
  $('badge').textContent = backend === 'webgpu' ? `WebGPU: ${adapter ?? ''}` : `CPU (WebAssembly${workers})`;
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

/** The CPU backend: a pool of workers, one per core (cpu-pool.js). */
function cpuPool() {
  page.pool ??= CpuPool.start(page.wasm).then((pool) => {
    page.poolSize = pool.size;
    return pool;
  });
  return page.pool;
}

/** The generator of model `name` ('cd', 'ct' or 'teacher') on the current backend, loaded once. */
function generator(name) {
  const key = `${name}@${page.backend.backend}`;
  if (!page.generators.has(key)) {
    const backend = page.backend.backend;
    const load = async () => {
      const entry = page.index.models.find((m) => m.name === name);
      let manifest = null;
      let weights = null;
      if (entry) {
        [manifest, weights] = await Promise.all([fetchWeights(entry.manifest), fetchWeights(entry.file, 'bytes')]);
      } else {
        if (name === 'teacher') throw new Error('no teacher weights are shipped (weights/index.json lists none)');
        notice(`No trained "${name}" weights are shipped yet: using a randomly initialised network, so expect noise, not digits.`);
      }
      if (backend === 'cpu') return (await cpuPool()).load(name, manifest, weights);
      return manifest === null ? Generator.random(0, undefined, backend) : Generator.load(manifest, weights, backend);
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

function updateLink() {
  const url = `${location.origin}${location.pathname}${formatState(page.state)}`;
  history.replaceState(null, '', url);
  $('share').href = url;
  $('share').textContent = url;
}

/**
 * Says once when the link was made with other weights or levels than the page ships (its images
 * can then differ from the shared ones), and keeps the link naming the model in use.
 */
function checkWeights(gen) {
  const s = page.state;
  const shipped = gen.fingerprint; // the wasm getter hashes the manifest: read it once
  if (page.linkWeights && page.linkWeights !== shipped) {
    notice(`Link: it was made with other ${s.model} weights or levels (w=${page.linkWeights}) than this page ships (w=${shipped}), so its images can differ from the ones that were shared.`);
  }
  page.linkWeights = null;
  if (s.weights !== shipped) {
    s.weights = shipped;
    updateLink();
  }
}

/** The noise levels of the current settings for `gen`: sigma_max first (the recommended ones
 * depend on the label: any digit has its own). */
function levelsFor(gen) {
  const s = page.state;
  const label = s.label ?? undefined;
  return s.levels ? [gen.levels(1, label)[0], ...s.levels] : gen.levels(s.steps, label);
}

/** The wasm call of the current mode: `(gen, onStep) => Promise<pixels>`, and how to show it. */
function modeCall() {
  const s = page.state;
  const common = { seed: s.seed, steps: s.steps, label: s.label ?? undefined, count: s.count };
  const image = () => page.sketch.values();
  switch (s.mode) {
    case 'inpaint':
      return (gen, onStep) => gen.edit({ ...common, mode: 'inpaint', image: image(), mask: Float32Array.from(page.sketch.mask) }, onStep);
    case 'stroke':
      return (gen, onStep) => gen.edit({ ...common, mode: 'stroke', image: image(), level: s.strength }, onStep);
    case 'denoise':
      return (gen, onStep) => gen.edit({ ...common, mode: 'denoise', image: image(), level: s.noise }, onStep);
    case 'interpolate':
      // Image 0 is the slider's position (its steps go to the strip), then the path A -> B.
      return (gen, onStep) => gen.edit({ mode: 'interpolate', seed: s.seed, seedB: s.seedB, steps: s.steps, label: s.label ?? undefined, t: [s.t, ...morphPath(s.count)] }, onStep);
    default:
      return (gen, onStep) => gen.generate({ ...common, levels: levelsFor(gen), count: s.count }, onStep);
  }
}

/** Columns of the result grid: ten for the digits 0-9 in turn (each digit keeps its column). */
function gridColumns() {
  const s = page.state;
  return Math.min(s.label === IN_TURN ? 10 : 8, s.count);
}

/** The images of the grid: for interpolation, the path without the slider's frame. */
function gridPixels(pixels) {
  return page.state.mode === 'interpolate' ? pixels.subarray(PIXELS) : pixels;
}

async function generate() {
  const id = ++page.run;
  readControls(page.state);
  writeControls(page.state);
  updateLink();
  const s = page.state;
  const call = modeCall();
  setStatus(s.mode === 'generate' ? 'generating…' : 'editing…');
  $('strip').replaceChildren();
  const steps = [];
  try {
    const result = await withFallback(async () => {
      const gen = await generator(s.model);
      page.backend.adapter ??= gen.adapter;
      checkWeights(gen);
      showBadge();
      const levels = s.mode === 'generate' ? levelsFor(gen) : null;
      $('levels').textContent = levels ? `noise levels σ: ${Array.from(levels, (v) => v.toPrecision(3)).join(' → ')}` : '';
      steps.length = 0;
      $('strip').replaceChildren();
      const start = performance.now();
      const pixels = await call(gen, (info, noisy, denoised) => {
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
        $('grid').replaceChildren(gridCanvas(gridPixels(denoised), gridColumns(), 3));
        if (s.mode === 'interpolate') drawInto($('morph-view'), denoised);
      });
      return { pixels, ms: performance.now() - start };
    });
    if (id !== page.run) return;
    page.pixels = result.pixels;
    $('grid').replaceChildren(gridCanvas(gridPixels(result.pixels), gridColumns(), 3));
    const n = result.pixels.length / PIXELS;
    $('timing').textContent = `${n} image${n > 1 ? 's' : ''}, ${steps.length} step${steps.length > 1 ? 's' : ''}, ${result.ms.toFixed(0)} ms on ${page.backend.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}`;
    setStatus('done');
    Object.assign(window.cm, { steps, pixels: Array.from(result.pixels), backend: page.backend.backend, mode: s.mode, done: window.cm.done + 1 });
  } catch (e) {
    if (id !== page.run) return;
    setStatus(`error: ${e.message ?? e}`, true);
    notice(`${s.mode === 'generate' ? 'Generation' : 'Editing'} failed: ${e.message ?? e}`, true);
    window.cm.done += 1;
  }
}

/** Draws the first image of `pixels` into `canvas` (28x28, scaled by CSS). */
function drawInto(canvas, pixels) {
  canvas.width = canvas.height = 28;
  canvas.getContext('2d').drawImage(imageCanvas(pixels, 0), 0, 0);
}

/** Morph animation: t from 0 to 1 and back, one image per frame, until pressed again. */
async function animate() {
  if (page.animating) {
    page.animating = false;
    return;
  }
  page.animating = true;
  $('animate').textContent = 'Stop';
  const s = page.state;
  try {
    const gen = await generator(s.model);
    for (let frame = 0; page.animating; frame++) {
      const t = 1 - Math.abs(1 - ((frame * 0.04) % 2));
      const pixels = await gen.edit({ mode: 'interpolate', seed: s.seed, seedB: s.seedB, steps: s.steps, label: s.label ?? undefined, t: [t] });
      drawInto($('morph-view'), pixels);
      showPosition(t);
    }
  } catch (e) {
    notice(`Animation failed: ${e.message ?? e}`, true);
  } finally {
    page.animating = false;
    $('animate').textContent = 'Animate';
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
    const t = await run(teacher, teacher.levels(COMPARE_STEPS.teacher));
    add('diffusion teacher (Heun)', t.pixels, t.detail);
    const cm = await generator(s.model);
    for (const steps of COMPARE_STEPS.consistency) {
      const r = await run(cm, cm.levels(steps, s.label ?? undefined));
      add(`consistency, ${steps} step${steps > 1 ? 's' : ''}`, r.pixels, r.detail);
    }
    setStatus('done');
    showQuality();
  } catch (e) {
    setStatus(`comparison failed: ${e.message ?? e}`, true);
    notice(`Comparison failed: ${e.message ?? e}`, true);
  }
}

/** Shows the chart `cm eval` drew beside the weights (fetched only now, not with the page). */
function showQuality() {
  const figure = $('quality');
  const img = figure.querySelector('img');
  img.onload = () => { figure.hidden = false; };
  img.src ||= '../weights/quality.svg';
}

function downloadPng() {
  if (!page.pixels) return;
  gridCanvas(page.pixels, gridColumns(), 4).toBlob((blob) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `consistency-${page.state.model}-seed${page.state.seed}.png`;
    a.click();
    URL.revokeObjectURL(a.href);
  });
}

async function main() {
  const { state, notes } = parseState(location.search);
  page.state = state;
  page.linkWeights = state.weights;
  for (const note of notes) notice(`Link: ${note}`);
  page.sketch = new Sketch($('sketch'));
  window.cm.drawing = () => ({ values: Array.from(page.sketch.values()), mask: Array.from(page.sketch.mask) });
  setTool(page.sketch, { inpaint: 'hide' }[state.mode] ?? 'ink');
  if (state.img) {
    try {
      const { grey, mask } = await decodeDrawing(state.img);
      page.sketch.grey.set(grey);
      if (mask) page.sketch.mask.set(mask);
      page.sketch.render();
    } catch (e) {
      notice(`Link: the drawing could not be read (${e.message}); starting from an empty drawing.`);
      state.img = null;
    }
  }
  startControls(page, {
    generate, animate, compare, notice, updateLink,
    download: downloadPng,
    backendChanged: async () => {
      page.backend = await chooseBackend(page.state.backend);
      showBadge();
      generate();
    },
  });
  // Compiled once, here: the CPU workers instantiate the same module.
  const wasmUrl = new URL('../pkg/consistency_models_bg.wasm', import.meta.url);
  page.wasm = await WebAssembly.compileStreaming(fetch(wasmUrl))
    .catch(async () => WebAssembly.compile(await (await fetch(wasmUrl)).arrayBuffer())); // a server without application/wasm
  await init({ module_or_path: page.wasm });
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
  if (['inpaint', 'denoise'].includes(state.mode) && !state.img) {
    // A link to an edit without a drawing: start from the seed's first digit.
    try {
      const gen = await generator(state.model);
      const first = await gen.generate({ seed: state.seed, steps: state.steps, label: state.label ?? undefined, count: 1 });
      page.sketch.set(Uint8Array.from(first, quantize));
    } catch (e) {
      notice(`Could not make a starting digit: ${e.message ?? e}`, true);
    }
  }
  await generate();
}

main().catch((e) => {
  setStatus(`error: ${e.message ?? e}`, true);
  notice(`The page failed to start: ${e.message ?? e}`, true);
});
