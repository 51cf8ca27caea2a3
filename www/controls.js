// The page's form controls: the state they say (readControls), what they show for a state and
// which rows each mode shows (writeControls), and their events (startControls). What an event
// makes happen (generate, compare, a new link) is the driver's (app.js), handed in as `actions`;
// nothing here calls the wasm library.
import { encodeDrawing, quantize, PIXELS } from './codec.js';
import {
  IN_TURN, LEVEL_RANGE, MAX_COUNT, MAX_SEED, MAX_STEPS,
  fitLabelToMode, formatLabel, parseLabel, randomSeed,
} from './state.js';

export const $ = (id) => document.getElementById(id);

/** Reads the controls into `s` (the page's state). */
export function readControls(s) {
  const steps = Number($('steps').value);
  if (steps !== s.steps) s.levels = null; // moving the slider drops explicit levels
  s.seed = Math.max(0, Math.min(MAX_SEED, Math.floor(Number($('seed').value) || 0)));
  s.steps = steps;
  s.label = parseLabel($('label').value);
  s.count = Math.max(1, Math.min(MAX_COUNT, Math.floor(Number($('count').value) || 1)));
  s.model = $('model').value;
  s.backend = $('backend').value;
  s.mode = document.querySelector('input[name=mode]:checked')?.value ?? 'generate';
  s.seedB = Math.max(0, Math.min(MAX_SEED, Math.floor(Number($('seed-b').value) || 0)));
  s.t = Number($('t').value);
  fitLabelToMode(s);
}

// The strength and noise sliders move over the level on a log scale; the state keeps the level.
const fromSlider = (name) => {
  const [lo, hi] = LEVEL_RANGE[name];
  return Number((lo * (hi / lo) ** (Number($(name).value) / 1000)).toPrecision(3));
};
const toSlider = (name, level) => {
  const [lo, hi] = LEVEL_RANGE[name];
  return Math.round((1000 * Math.log(level / lo)) / Math.log(hi / lo));
};

const HELP = {
  inpaint: 'Erase part of a digit (the red pixels) and the model fills it in, keeping the rest exactly: after every step the known pixels are put back (Algorithm 4 of the paper).',
  stroke: 'Draw a rough digit. It is noised to the strength level and denoised from there (SDEdit): low strength keeps your strokes, high strength lets the model redraw them.',
  denoise: 'A digit with noise of level σ added (the seed picks the noise). The model starts its loop at that level instead of the top and cleans it up.',
};

/** Shows state `s` in the controls, and the rows of its mode only. */
export function writeControls(s) {
  $('seed').value = s.seed;
  $('steps').value = s.steps;
  $('steps-out').textContent = s.steps;
  $('label').value = formatLabel(s.label);
  $('label').querySelector(`option[value="${IN_TURN}"]`).disabled = s.mode === 'interpolate';
  $('count').value = s.count;
  $('model').value = s.model;
  $('backend').value = s.backend;
  for (const radio of document.querySelectorAll('input[name=mode]')) radio.checked = radio.value === s.mode;
  $('seed-b').value = s.seedB;
  showPosition(s.t);
  for (const name of ['strength', 'noise']) {
    $(name).value = toSlider(name, s[name]);
    $(`${name}-out`).textContent = s[name];
  }
  const drawing = ['inpaint', 'stroke', 'denoise'].includes(s.mode);
  $('editor').hidden = !drawing;
  $('morph').hidden = s.mode !== 'interpolate';
  $('strength-row').hidden = s.mode !== 'stroke';
  $('noise-row').hidden = s.mode !== 'denoise';
  $('mode-help').textContent = HELP[s.mode] ?? '';
  $('generate').textContent = { generate: 'Generate', inpaint: 'Complete', stroke: 'Make a digit', denoise: 'Clean up', interpolate: 'Morph' }[s.mode];
}

/** Shows the morph's position `t` on its slider (the animation moves it too). */
export function showPosition(t) {
  $('t').value = t;
  $('t-out').textContent = t.toFixed(2);
}

/** Picks the drawing tool of `sketch`, in the sketch and in the tool buttons. */
export function setTool(sketch, tool) {
  sketch.tool = tool;
  for (const radio of document.querySelectorAll('input[name=tool]')) radio.checked = radio.value === tool;
}

/** Copies the first result image into the drawing (grey levels). */
function useResult(page) {
  if (!page.pixels) return;
  page.sketch.set(Uint8Array.from(page.pixels.subarray(0, PIXELS), quantize));
}

/** A picture from a file as the drawing's grey levels: scaled to 28x28, white digit on black. */
async function openImage(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 28;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0, 28, 28);
  const rgba = ctx.getImageData(0, 0, 28, 28).data;
  const grey = Uint8Array.from({ length: PIXELS }, (_, i) => {
    const luma = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3 / 255;
    return Math.round(luma * 15);
  });
  // Dark digits on a light page become light on dark, as the model knows them.
  const mean = grey.reduce((a, b) => a + b, 0) / PIXELS;
  return mean > 7.5 ? grey.map((g) => 15 - g) : grey;
}

/**
 * Shows `page.state` in the controls and wires their events. `page`: the driver's `{state,
 * sketch, pixels}`; `actions`: what the events make happen, `{generate, animate, compare,
 * download, backendChanged, updateLink, notice}`.
 */
export function startControls(page, actions) {
  const { generate, updateLink, notice } = actions;
  // The controls' ranges are the link's (state.js), which the browser tests hold to the library's.
  $('steps').max = MAX_STEPS;
  $('count').max = MAX_COUNT;
  writeControls(page.state);

  let timer = null;
  const live = () => {
    $('steps-out').textContent = $('steps').value;
    if (!$('live').checked) return;
    clearTimeout(timer);
    timer = setTimeout(generate, 120);
  };
  for (const id of ['seed', 'steps', 'label', 'count', 'model', 'seed-b', 't']) $(id).addEventListener('input', live);
  for (const name of ['strength', 'noise']) {
    $(name).addEventListener('input', () => {
      page.state[name] = fromSlider(name);
      $(`${name}-out`).textContent = page.state[name];
      updateLink();
      live();
    });
  }
  $('t').addEventListener('input', () => ($('t-out').textContent = Number($('t').value).toFixed(2)));

  // Switching mode: pick the tool it needs and give the drawing a starting point.
  const modeChanged = () => {
    readControls(page.state);
    const s = page.state;
    const tool = { inpaint: 'hide', stroke: 'ink', denoise: 'ink' }[s.mode];
    if (tool) {
      setTool(page.sketch, tool);
      const empty = !page.sketch.grey.some((g) => g > 0);
      if (s.mode === 'stroke' && page.sketch.hasHole) page.sketch.set(page.sketch.grey);
      if (s.mode !== 'stroke' && empty) useResult(page);
    }
    writeControls(s);
    updateLink();
  };
  for (const radio of document.querySelectorAll('input[name=mode]')) radio.addEventListener('change', modeChanged);

  // The drawing and its tools; the drawing's share-link text follows every change of the drawing.
  for (const radio of document.querySelectorAll('input[name=tool]')) radio.addEventListener('change', () => setTool(page.sketch, radio.value));
  $('brush').addEventListener('input', () => (page.sketch.radius = Number($('brush').value)));
  $('undo').addEventListener('click', () => page.sketch.undo());
  $('clear').addEventListener('click', () => page.sketch.clear());
  $('use-result').addEventListener('click', () => useResult(page));
  $('open-image').addEventListener('change', (e) => e.target.files[0] && openImage(e.target.files[0]).then((grey) => page.sketch.set(grey))
    .catch((err) => notice(`Could not open the image: ${err.message ?? err}`, true)));
  const drawingChanged = async () => {
    const mask = page.sketch.hasHole ? page.sketch.mask : null;
    page.state.img = await encodeDrawing(page.sketch.grey, mask);
    updateLink();
  };
  page.sketch.addEventListener('change', () => {
    drawingChanged().catch((e) => notice(`Could not encode the drawing: ${e.message ?? e}`, true));
    live();
  });

  $('dice-b').addEventListener('click', () => {
    $('seed-b').value = randomSeed();
    generate();
  });
  $('animate').addEventListener('click', actions.animate);
  $('backend').addEventListener('change', () => {
    readControls(page.state);
    actions.backendChanged();
  });
  $('dice').addEventListener('click', () => {
    $('seed').value = randomSeed();
    generate();
  });
  $('generate').addEventListener('click', generate);
  $('compare').addEventListener('click', actions.compare);
  $('download').addEventListener('click', actions.download);
  $('copy-link').addEventListener('click', () => navigator.clipboard?.writeText($('share').href).catch(() => {}));
}
