// A thin driver of the wasm API: load a model, generate, draw every step.
import init, { Generator } from '../pkg/consistency_models.js';

const $ = (id) => document.getElementById(id);
const SIDE = 28;

/** Draws `pixels[offset .. offset + 784]` (values in [-1, 1]) on a new canvas. */
function digitCanvas(pixels, offset = 0) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIDE;
  canvas.className = 'digit';
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round((Math.max(-1, Math.min(1, pixels[offset + i])) + 1) * 127.5);
    image.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

/** Fetches a file of the weights folder, as text or bytes; rejects with the URL on HTTP errors. */
async function fetchWeights(name, as) {
  const response = await fetch(`../weights/${name}`);
  if (!response.ok) throw new Error(`weights/${name}: HTTP ${response.status}`);
  return as === 'bytes' ? new Uint8Array(await response.arrayBuffer()) : response.text();
}

/** The consistency model named in weights/index.json, or random weights when there is none yet. */
async function loadGenerator() {
  const index = JSON.parse(await fetchWeights('index.json'));
  const entry = index.models.find((m) => m.kind === 'cd') ?? index.models.find((m) => m.kind === 'ct');
  if (!entry) {
    $('model-note').textContent = 'No trained weights yet: showing a randomly initialised network, so expect noise, not digits.';
    return Generator.random(0, undefined);
  }
  const [manifest, weights] = await Promise.all([fetchWeights(entry.manifest), fetchWeights(entry.file, 'bytes')]);
  $('model-note').textContent = `Model: ${entry.name} (${entry.kind}).`;
  return Generator.load(manifest, weights);
}

async function main() {
  await init();
  const generator = await loadGenerator();
  setStatus(`ready (${generator.backend})`);
  const run = async () => {
    const seed = Number($('seed').value);
    const steps = Number($('steps').value);
    $('strip').replaceChildren();
    setStatus('generating…');
    try {
      await generator.generate({ seed, steps, count: 1 }, (info, noisy, denoised) => {
        const cell = document.createElement('div');
        cell.className = 'step';
        cell.append(digitCanvas(noisy), digitCanvas(denoised));
        const caption = document.createElement('span');
        caption.textContent = `step ${info.index + 1}: σ=${info.sigma.toPrecision(3)}, ${info.ms.toFixed(0)} ms`;
        cell.append(caption);
        $('strip').append(cell);
      });
      setStatus(`done (${generator.backend})`);
    } catch (e) {
      setStatus(`error: ${e.message ?? e}`, true);
    }
  };
  $('steps').addEventListener('input', () => ($('steps-out').textContent = $('steps').value));
  $('generate').addEventListener('click', run);
  await run();
}

main().catch((e) => setStatus(`error: ${e.message ?? e}`, true));
