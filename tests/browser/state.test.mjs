// The share link's state: parsing, clamping, and the round trip (pure JS, no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, IN_TURN, formatState, parseState } from '../../www/state.js';

/** Each of `states` formats to a link that parses back to it, with no note. */
function assertRoundTrips(states) {
  for (const state of states) {
    const { state: parsed, notes } = parseState(formatState(state));
    assert.deepEqual(parsed, state);
    assert.deepEqual(notes, []);
  }
}

/** The fields of `state` that `expected` names have its values. */
const assertFields = (state, expected) => assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, state[k]])), expected);

test('a formatted state parses back to itself', () => {
  assertRoundTrips([
    { ...DEFAULTS },
    { ...DEFAULTS, model: 'ct', seed: 2 ** 53 - 1, steps: 8, label: 0, count: 64, backend: 'cpu' },
    { ...DEFAULTS, levels: [12.5, 0.8], steps: 3, label: 9 },
    { ...DEFAULTS, label: null },
    { ...DEFAULTS, label: IN_TURN, count: 10 },
    { ...DEFAULTS, weights: '0123abcd' },
  ]);
});

test('malformed and out-of-range values are replaced and reported', () => {
  const { state, notes } = parseState('?model=gan&seed=-4&steps=99&label=12&count=abc&backend=tpu&levels=1,2');
  assertFields(state, { model: 'cd', seed: 0, steps: 8, label: DEFAULTS.label, count: DEFAULTS.count, backend: 'auto', levels: null });
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
  assertRoundTrips([
    { ...DEFAULTS, mode: 'inpaint', img: 'abc_-9' },
    { ...DEFAULTS, mode: 'stroke', strength: 2.5, img: 'xyz', label: 1 },
    { ...DEFAULTS, mode: 'denoise', noise: 0.3, img: 'q' },
    { ...DEFAULTS, mode: 'interpolate', seedB: 123, t: 0.25, label: null },
    { ...DEFAULTS, mode: 'interpolate', label: 6 },
  ]);
  const { state, notes } = parseState('?mode=paint&t=2&strength=-1&noise=x&seedB=1.5&img=%%%');
  assertFields(state, { mode: 'generate', t: 1, strength: 0.1, noise: DEFAULTS.noise, seedB: DEFAULTS.seedB, img: null });
  assert.equal(notes.length, 6, notes.join('\n'));
});
