// The page's whole state, and its round trip through the URL (the share link).
// Pure functions: tested in node (tests/browser/state.test.mjs, state-props.test.mjs) as well as
// in the page. The limits here must stay within the wasm library's `limits()`: `demand` says what
// one run asks of it, and tests/browser/limits.test.mjs checks that for every mode.
import { MAX_TEXT } from './codec.js';

export const MAX_STEPS = 8;
export const MAX_COUNT = 64;
export const MAX_SEED = 2 ** 53 - 1;
export const MODELS = ['cd', 'ct'];
export const BACKENDS = ['auto', 'webgpu', 'cpu'];
// 'generate', or one of the zero-shot edits (the names of the wasm API's `edit` modes).
export const MODES = ['generate', 'inpaint', 'stroke', 'denoise', 'interpolate'];
// The noise levels of the shipped models, [sigma_min, sigma_max]: the library's `limits().sigma`
// (tests/browser/limits.test.mjs checks that they agree).
export const SIGMA_RANGE = Object.freeze([0.002, 80]);
// Starting levels of the stroke-guided (strength) and denoising (noise) sliders.
export const LEVEL_RANGE = Object.freeze({ strength: [0.1, SIGMA_RANGE[1]], noise: [0.01, SIGMA_RANGE[1]] });

// The steps of the comparison's calls: the diffusion teacher, then the consistency model.
export const COMPARE_STEPS = Object.freeze({ teacher: 18, consistency: Object.freeze([1, 2, 4]) });

// The label that asks for the digits 0-9 in turn (the wasm API's `label: "0-9"`).
export const IN_TURN = '0-9';

/** A label as the URL and the digit menu write it: '0'-'9', 'any' or '0-9'. */
export const formatLabel = (label) => (label === null ? 'any' : String(label));

/** The label `formatLabel` wrote: a digit, null (any) or IN_TURN; undefined for anything else. */
export function parseLabel(raw) {
  if (raw === 'any') return null;
  if (raw === IN_TURN) return IN_TURN;
  return /^[0-9]$/.test(raw) ? Number(raw) : undefined;
}

/** A morph keeps one label: it turns the digits in turn into any digit. True if it changed `state`. */
export function fitLabelToMode(state) {
  if (state.mode !== 'interpolate' || state.label !== IN_TURN) return false;
  state.label = null;
  return true;
}

export const DEFAULTS = Object.freeze({
  model: 'cd',
  seed: 42,
  steps: 2,
  levels: null, // explicit intermediate levels (below sigma_max), overriding `steps`
  label: '0-9', // a digit 0-9; null: any digit; '0-9': the digits in turn (image k gets k mod 10)
  count: 20,
  backend: 'auto',
  mode: 'generate',
  seedB: 7, // interpolation: the second seed
  t: 0.5, // interpolation: position between the seeds
  strength: 4, // stroke-guided: the level the drawing is noised to
  noise: 0.5, // denoising: the level of the noise added to the digit
  img: null, // the drawing (codec.js text), for the edit modes
  weights: null, // `w`: the fingerprint of the model that made the images (8 hex digits)
});

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** A link's value as a note quotes it: JSON, cut short, so that a huge value makes no huge note. */
function quote(raw) {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

/**
 * Reads the state from URL search parameters. Returns `{state, notes}`: every value that was
 * malformed or out of range is replaced (by the default, or clamped) and described in `notes`.
 */
export function parseState(search) {
  const params = new URLSearchParams(search);
  const state = { ...DEFAULTS };
  const notes = [];
  const integer = (name, lo, hi) => {
    if (!params.has(name)) return;
    const raw = params.get(name);
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || !Number.isInteger(value)) {
      notes.push(`${name}=${quote(raw)} is not an integer; using ${DEFAULTS[name] ?? 'any'}.`);
      return;
    }
    const clamped = clamp(value, lo, hi);
    if (clamped !== value) notes.push(`${name}=${value} is outside ${lo}-${hi}; using ${clamped}.`);
    state[name] = clamped;
  };
  const choice = (name, options) => {
    if (!params.has(name)) return;
    const raw = params.get(name);
    if (options.includes(raw)) state[name] = raw;
    else notes.push(`${name}=${quote(raw)} is not one of ${options.join(', ')}; using ${DEFAULTS[name]}.`);
  };
  const real = (name, lo, hi) => {
    if (!params.has(name)) return;
    const raw = params.get(name);
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      notes.push(`${name}=${quote(raw)} is not a number; using ${DEFAULTS[name]}.`);
      return;
    }
    const clamped = clamp(value, lo, hi);
    if (clamped !== value) notes.push(`${name}=${value} is outside ${lo}-${hi}; using ${clamped}.`);
    state[name] = clamped;
  };
  choice('model', MODELS);
  choice('mode', MODES);
  integer('seedB', 0, MAX_SEED);
  real('t', 0, 1);
  real('strength', ...LEVEL_RANGE.strength);
  real('noise', ...LEVEL_RANGE.noise);
  if (params.has('img')) {
    const raw = params.get('img');
    if (/^[A-Za-z0-9_-]+$/.test(raw) && raw.length <= MAX_TEXT) state.img = raw;
    else notes.push('img is not a drawing this page wrote; starting from an empty drawing.');
  }
  if (params.has('w')) {
    const raw = params.get('w');
    if (/^[0-9a-f]{8}$/.test(raw)) state.weights = raw;
    else notes.push(`w=${quote(raw)} is not a weights fingerprint (8 hex digits); ignoring it.`);
  }
  choice('backend', BACKENDS);
  integer('seed', 0, MAX_SEED);
  integer('steps', 1, MAX_STEPS);
  integer('count', 1, MAX_COUNT);
  if (params.has('label')) {
    const raw = params.get('label');
    const label = parseLabel(raw);
    if (label !== undefined) state.label = label;
    else notes.push(`label=${quote(raw)} is not a digit, "any" or "0-9"; using ${formatLabel(DEFAULTS.label)}.`);
  }
  if (fitLabelToMode(state) && params.has('label')) notes.push('a morph keeps one label, not the digits in turn; using any.');
  if (params.has('levels')) {
    const raw = params.get('levels');
    const levels = raw === '' ? [] : raw.split(',').map(Number);
    const valid = levels.length < MAX_STEPS
      && levels.every((v) => Number.isFinite(v) && v > SIGMA_RANGE[0] && v < SIGMA_RANGE[1])
      && levels.every((v, i) => i === 0 || v < levels[i - 1]);
    if (valid) {
      state.levels = levels;
      state.steps = levels.length + 1;
    } else {
      notes.push(`levels=${quote(raw)} must be up to ${MAX_STEPS - 1} decreasing numbers between ${SIGMA_RANGE[0]} and ${SIGMA_RANGE[1]}; using ${state.steps} steps.`);
    }
  }
  return { state, notes };
}

/** The URL search string (with `?`) that reproduces `state`; defaults are left out. */
export function formatState(state) {
  const params = new URLSearchParams();
  params.set('model', state.model);
  params.set('seed', String(state.seed));
  // Exactly the levels the page ran at (JS writes the shortest text that reads back as the same
  // number), so that the link reproduces its images; a link's levels are all that sets them.
  if (state.levels) params.set('levels', state.levels.map(String).join(','));
  else params.set('steps', String(state.steps));
  params.set('label', formatLabel(state.label));
  params.set('count', String(state.count));
  if (state.weights) params.set('w', state.weights);
  if (state.backend !== 'auto') params.set('backend', state.backend);
  if (state.mode !== 'generate') params.set('mode', state.mode);
  if (state.mode === 'interpolate') {
    params.set('seedB', String(state.seedB));
    params.set('t', String(state.t));
  }
  if (state.mode === 'stroke') params.set('strength', String(state.strength));
  if (state.mode === 'denoise') params.set('noise', String(state.noise));
  if (['inpaint', 'stroke', 'denoise'].includes(state.mode) && state.img) params.set('img', state.img);
  return `?${params.toString()}`;
}

/** `n` evenly spaced positions from 0 to 1 for the morph's path (at least the two ends). */
export const morphPath = (n) => Array.from({ length: Math.max(2, n) }, (_, i) => i / (Math.max(2, n) - 1));

/**
 * What one run of `state` asks of the wasm library: `steps`, the steps of the call; `levels`, the
 * length of an explicit `levels` array it passes (0: none); `images`, the images it makes (for a
 * morph, the slider's frame and the path). Must stay within the library's `limits()`.
 */
export function demand(state) {
  const steps = state.levels ? state.levels.length + 1 : state.steps;
  if (state.mode === 'interpolate') return { steps, levels: 0, images: 1 + morphPath(state.count).length };
  return { steps, levels: state.mode === 'generate' ? steps : 0, images: state.count };
}

/** A random seed for the dice button: an integer below 2^32 so links stay short. */
export function randomSeed() {
  return Math.floor(Math.random() * 2 ** 32);
}
