// The share link's state: parsing, clamping, and the round trip (pure JS, no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, IN_TURN, formatState, parseState } from '../../www/state.js';
import { PIXELS, decodeDrawing, dequantize, encodeDrawing, quantize } from '../../www/codec.js';

test('a formatted state parses back to itself', () => {
  for (const state of [
    { ...DEFAULTS },
    { ...DEFAULTS, model: 'ct', seed: 2 ** 53 - 1, steps: 8, label: 0, count: 64, backend: 'cpu' },
    { ...DEFAULTS, levels: [12.5, 0.8], steps: 3, label: 9 },
    { ...DEFAULTS, label: null },
    { ...DEFAULTS, label: IN_TURN, count: 10 },
    { ...DEFAULTS, weights: '0123abcd' },
  ]) {
    const { state: parsed, notes } = parseState(formatState(state));
    assert.deepEqual(parsed, state);
    assert.deepEqual(notes, []);
  }
});

test('malformed and out-of-range values are replaced and reported', () => {
  const { state, notes } = parseState('?model=gan&seed=-4&steps=99&label=12&count=abc&backend=tpu&levels=1,2');
  assert.equal(state.model, 'cd');
  assert.equal(state.seed, 0);
  assert.equal(state.steps, 8);
  assert.equal(state.label, DEFAULTS.label);
  assert.equal(state.count, DEFAULTS.count);
  assert.equal(state.backend, 'auto');
  assert.equal(state.levels, null);
  assert.equal(notes.length, 7, notes.join('\n'));
  assert.match(notes.join('\n'), /steps=99 is outside 1-8; using 8/);
  assert.deepEqual(parseState('?seed=1.5').state.seed, DEFAULTS.seed);
  assert.deepEqual(parseState('?seed=').state.seed, DEFAULTS.seed);
  assert.deepEqual(parseState('?levels=81').notes.length, 1);
  const w = parseState('?w=XYZ');
  assert.equal(w.state.weights, null);
  assert.match(w.notes.join('\n'), /w="XYZ" is not a weights fingerprint/);
});

test('the digits 0-9 in turn are the default, and a morph, which keeps one label, falls back to any', () => {
  assert.equal(DEFAULTS.label, IN_TURN);
  assert.equal(parseState('').state.label, IN_TURN);
  assert.match(formatState(DEFAULTS), /label=0-9/);
  assert.deepEqual(parseState('?label=0-9'), { state: { ...DEFAULTS }, notes: [] });
  // A link without a label opens a morph with any digit, silently; one that asks for 0-9 is told.
  assert.deepEqual(parseState('?mode=interpolate'), { state: { ...DEFAULTS, mode: 'interpolate', label: null }, notes: [] });
  const { state, notes } = parseState('?mode=interpolate&label=0-9');
  assert.equal(state.label, null);
  assert.match(notes.join('\n'), /morph keeps one label/);
});

test('explicit levels set the step count', () => {
  const { state } = parseState('?levels=20,3,0.4');
  assert.deepEqual(state.levels, [20, 3, 0.4]);
  assert.equal(state.steps, 4);
  assert.deepEqual(parseState('?levels=').state.levels, []);
});

test('each edit mode keeps its own settings and the drawing in the link', () => {
  for (const state of [
    { ...DEFAULTS, mode: 'inpaint', img: 'abc_-9' },
    { ...DEFAULTS, mode: 'stroke', strength: 2.5, img: 'xyz', label: 1 },
    { ...DEFAULTS, mode: 'denoise', noise: 0.3, img: 'q' },
    { ...DEFAULTS, mode: 'interpolate', seedB: 123, t: 0.25, label: null },
    { ...DEFAULTS, mode: 'interpolate', label: 6 },
  ]) {
    const { state: parsed, notes } = parseState(formatState(state));
    assert.deepEqual(parsed, state);
    assert.deepEqual(notes, []);
  }
  const { state, notes } = parseState('?mode=paint&t=2&strength=-1&noise=x&seedB=1.5&img=%%%');
  assert.equal(state.mode, 'generate');
  assert.equal(state.t, 1);
  assert.equal(state.strength, 0.1);
  assert.equal(state.noise, DEFAULTS.noise);
  assert.equal(state.seedB, DEFAULTS.seedB);
  assert.equal(state.img, null);
  assert.equal(notes.length, 6, notes.join('\n'));
});

test('a drawing and its mask survive the link encoding exactly, and stay short', async () => {
  const grey = new Uint8Array(PIXELS);
  const mask = new Uint8Array(PIXELS).fill(1);
  for (let row = 4; row < 24; row++) grey[row * 28 + 13] = 15; // a "1"
  for (let row = 4; row < 24; row++) grey[row * 28 + 14] = 7;
  for (let i = 0; i < 300; i++) mask[i] = 0;
  const text = await encodeDrawing(grey, mask);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.ok(text.length < 120, `${text.length} characters`);
  const back = await decodeDrawing(text);
  assert.deepEqual(back.grey, grey);
  assert.deepEqual(back.mask, mask);
  const plain = await decodeDrawing(await encodeDrawing(grey));
  assert.equal(plain.mask, null);
  const noisy = Uint8Array.from({ length: PIXELS }, (_, i) => (i * 7919) % 16);
  assert.ok((await encodeDrawing(noisy, mask)).length < 700);
  await assert.rejects(decodeDrawing('AAAA'));
  await assert.rejects(decodeDrawing('not base64!'));
  assert.equal(quantize(dequantize(9)), 9);
  assert.equal(quantize(-1), 0);
  assert.equal(quantize(1), 15);
});
