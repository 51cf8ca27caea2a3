// The share link's state: parsing, clamping, and the round trip (pure JS, no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, formatState, parseState } from '../../www/state.js';

test('a formatted state parses back to itself', () => {
  for (const state of [
    { ...DEFAULTS },
    { ...DEFAULTS, model: 'ct', seed: 2 ** 53 - 1, steps: 8, label: 0, count: 64, backend: 'cpu' },
    { ...DEFAULTS, levels: [12.5, 0.8], steps: 3, label: 9 },
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
  assert.equal(state.label, null);
  assert.equal(state.count, DEFAULTS.count);
  assert.equal(state.backend, 'auto');
  assert.equal(state.levels, null);
  assert.equal(notes.length, 7, notes.join('\n'));
  assert.match(notes.join('\n'), /steps=99 is outside 1-8; using 8/);
  assert.deepEqual(parseState('?seed=1.5').state.seed, DEFAULTS.seed);
  assert.deepEqual(parseState('?seed=').state.seed, DEFAULTS.seed);
  assert.deepEqual(parseState('?levels=81').notes.length, 1);
});

test('explicit levels set the step count', () => {
  const { state } = parseState('?levels=20,3,0.4');
  assert.deepEqual(state.levels, [20, 3, 0.4]);
  assert.equal(state.steps, 4);
  assert.deepEqual(parseState('?levels=').state.levels, []);
});
