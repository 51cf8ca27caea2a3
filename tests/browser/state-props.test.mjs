// Property tests of the share link's parser (www/state.js), in plain node: any query string in, a
// valid state and listed notes out, never an exception; and every link the page writes reads back
// as itself without a note. state.test.mjs holds the worked examples.
// Runs with a fixed seed so that a failure repeats; PROPERTY_SEED=<n> explores other cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BACKENDS, DEFAULTS, IN_TURN, LEVEL_RANGE, MAX_COUNT, MAX_SEED, MAX_STEPS, MODELS, MODES,
  formatState, parseState,
} from '../../www/state.js';
import { MAX_TEXT } from '../../www/codec.js';

const seed = Number(process.env.PROPERTY_SEED ?? 20261130);
const runs = (numRuns) => ({ seed, numRuns });

const NAMES = ['model', 'seed', 'steps', 'levels', 'label', 'count', 'w', 'backend', 'mode', 'seedB', 't', 'strength', 'noise', 'img'];
const DRAWING_MODES = ['inpaint', 'stroke', 'denoise'];

/** Every note parseState may write; each names the parameter it is about. */
const NOTES = [
  /^(seed|seedB|steps|count)=".*" is not an integer; using (\d+|any)\.$/s,
  /^(seed|seedB|steps|count)=-?\d+(\.\d+)?(e[+-]\d+)? is outside \d+-\d+; using \d+\.$/,
  /^(model|mode|backend)=".*" is not one of [a-z, ]+; using [a-z]+\.$/s,
  /^(t|strength|noise)=".*" is not a number; using [\d.]+\.$/s,
  /^(t|strength|noise)=-?[\d.]+(e[+-]\d+)? is outside [\d.]+-[\d.]+; using [\d.e+-]+\.$/,
  /^img is not a drawing this page wrote; starting from an empty drawing\.$/,
  /^w=".*" is not a weights fingerprint \(8 hex digits\); ignoring it\.$/s,
  /^label=".*" is not a digit, "any" or "0-9"; using (any|0-9|\d)\.$/s,
  /^a morph keeps one label, not the digits in turn; using any\.$/,
  /^levels=".*" must be up to \d+ decreasing numbers between 0\.002 and 80; using \d+ steps\.$/s,
];
/** The parameter a note is about. */
const noteParam = (note) => (note.startsWith('a morph') ? 'label' : note.match(/^(\w+)[= ]/)[1]);

const isInt = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
const inRange = (v, [lo, hi]) => Number.isFinite(v) && v >= lo && v <= hi;

/** The state invariants the page relies on. */
function assertValid(s) {
  assert.deepEqual(Object.keys(s).sort(), Object.keys(DEFAULTS).sort());
  assert.ok(MODELS.includes(s.model) && MODES.includes(s.mode) && BACKENDS.includes(s.backend));
  assert.ok(isInt(s.seed, 0, MAX_SEED) && isInt(s.seedB, 0, MAX_SEED));
  assert.ok(isInt(s.steps, 1, MAX_STEPS), `steps ${s.steps}`);
  assert.ok(isInt(s.count, 1, MAX_COUNT), `count ${s.count}`);
  assert.ok(s.label === null || s.label === IN_TURN || isInt(s.label, 0, 9), `label ${s.label}`);
  if (s.mode === 'interpolate') assert.notEqual(s.label, IN_TURN, 'a morph keeps one label');
  if (s.levels !== null) {
    assert.ok(Array.isArray(s.levels) && s.levels.length < MAX_STEPS);
    assert.ok(s.levels.every((v, i) => Number.isFinite(v) && v > 0.002 && v < 80 && (i === 0 || v < s.levels[i - 1])), String(s.levels));
    assert.equal(s.steps, s.levels.length + 1);
  }
  assert.ok(inRange(s.t, [0, 1]) && inRange(s.strength, LEVEL_RANGE.strength) && inRange(s.noise, LEVEL_RANGE.noise));
  assert.ok(s.img === null || (/^[A-Za-z0-9_-]+$/.test(s.img) && s.img.length <= MAX_TEXT));
  assert.ok(s.weights === null || /^[0-9a-f]{8}$/.test(s.weights));
}

/** The fields a link leaves out in `state`'s mode (they fall back to their defaults). */
function unlinked(state) {
  const out = [];
  if (state.mode !== 'interpolate') out.push('seedB', 't');
  if (state.mode !== 'stroke') out.push('strength');
  if (state.mode !== 'denoise') out.push('noise');
  if (!DRAWING_MODES.includes(state.mode)) out.push('img');
  return out;
}

/**
 * The properties every query must have: parseState returns a valid state and listed notes (short,
 * each about a parameter the query holds) without throwing, and the link formatState writes for
 * that state reads back without a note, as the same link and the same state.
 */
function checkQuery(query) {
  const { state, notes } = parseState(query);
  assertValid(state);
  const present = new Set(new URLSearchParams(query).keys());
  for (const note of notes) {
    assert.ok(NOTES.some((re) => re.test(note)), `unlisted note: ${note}`);
    assert.ok(note.length <= 200, `a note of ${note.length} characters`);
    assert.ok(present.has(noteParam(note)), `a note about ${noteParam(note)}, absent from ${query}`);
  }
  const link = formatState(state);
  const again = parseState(link);
  assert.deepEqual(again.notes, [], `the page's own link ${link} gets notes`);
  assert.equal(formatState(again.state), link);
  const expected = { ...state };
  for (const name of unlinked(state)) expected[name] = DEFAULTS[name];
  assert.deepEqual(again.state, expected);
}

// Values aimed at the parser: numbers in every spelling, near and past each range, labels,
// levels lists, fingerprints, drawings' texts, and anything at all.
const number = fc.oneof(
  fc.double().map(String),
  fc.integer({ min: -100, max: 100 }).map(String),
  fc.constantFrom('0', '-0', '1', '8', '9', '64', '65', '80', '0.002', '0.0021', '1e999', '-1e999', 'NaN', 'Infinity', '-Infinity',
    '0x10', '0b11', '1_000', ' 5', '5 ', '+5', '.5', '5.', '1e3', '9007199254740991', '9007199254740992', '9007199254740993', '', ' ', '\t'),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
const levelsList = fc.array(fc.oneof(number, fc.double({ min: 0, max: 100, noNaN: true }).map(String)), { maxLength: 10 }).map((a) => a.join(','));
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }));
const value = fc.oneof(
  number, levelsList, anyText,
  fc.constantFrom(...MODELS, ...MODES, ...BACKENDS, 'any', IN_TURN, 'ANY', '10', '01', '0123abcd', '0123ABCD', 'CD', 'Generate'),
  fc.stringMatching(/^[0-9a-f]{7,9}$/),
  fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/%'), maxLength: 50 }),
  fc.integer({ min: 1, max: 3 }).map((k) => 'A'.repeat(MAX_TEXT - 1 + k)),
  fc.string({ maxLength: 2000 }),
);
const name = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...NAMES) }, fc.constantFrom('Seed', 'seed ', 'levels[]', '', 'x'), fc.string({ maxLength: 6 }));
/** A query of real and stray parameters, each written raw or percent-encoded (malformed escapes too). */
const query = fc.tuple(
  fc.array(fc.tuple(name, value, fc.constantFrom('encoded', 'raw', 'no-equals')), { maxLength: 8 }),
  fc.constantFrom('?', '', '??', '?&'),
).map(([pairs, prefix]) => prefix + pairs.map(([n, v, how]) => {
  if (how === 'no-equals') return encodeURIComponent(n);
  return how === 'encoded' ? `${encodeURIComponent(n)}=${encodeURIComponent(v)}` : `${n}=${v}`;
}).join('&'));

test('any query string: a valid state, listed notes, and a link that reads back as itself', () => {
  fc.assert(fc.property(query, (q) => { checkQuery(q); }), runs(10000));
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (q) => { checkQuery(q); }), runs(3000));
  fc.assert(fc.property(fc.webQueryParameters(), (q) => { checkQuery(`?${q}`); }), runs(2000));
});

/** Any valid state, as the page's controls can set it. */
const validState = fc.record({
  model: fc.constantFrom(...MODELS),
  seed: fc.oneof(fc.nat(2 ** 32), fc.constantFrom(0, MAX_SEED), fc.integer({ min: 0, max: MAX_SEED })),
  steps: fc.integer({ min: 1, max: MAX_STEPS }),
  levels: fc.option(fc.uniqueArray(fc.double({ min: 0.002, max: 80, noNaN: true, minExcluded: true, maxExcluded: true }), { maxLength: MAX_STEPS - 1 })
    .map((a) => a.sort((x, y) => y - x)), { nil: null }),
  label: fc.constantFrom(null, IN_TURN, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
  count: fc.integer({ min: 1, max: MAX_COUNT }),
  backend: fc.constantFrom(...BACKENDS),
  mode: fc.constantFrom(...MODES),
  seedB: fc.integer({ min: 0, max: MAX_SEED }),
  t: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.5, 1)),
  strength: fc.double({ min: LEVEL_RANGE.strength[0], max: LEVEL_RANGE.strength[1], noNaN: true }),
  noise: fc.double({ min: LEVEL_RANGE.noise[0], max: LEVEL_RANGE.noise[1], noNaN: true }),
  img: fc.option(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 1, maxLength: 700 }), { nil: null }),
  weights: fc.option(fc.stringMatching(/^[0-9a-f]{8}$/), { nil: null }),
}).map((s) => {
  const state = { ...s, steps: s.levels ? s.levels.length + 1 : s.steps };
  if (state.mode === 'interpolate' && state.label === IN_TURN) state.label = null;
  // -0 reads back as 0: the page never makes it (its sliders and fields give 0).
  for (const k of ['t']) if (Object.is(state[k], -0)) state[k] = 0;
  return state;
});

test('any valid state: its link reads back as the same state, without a note', () => {
  fc.assert(fc.property(validState, (state) => {
    assertValid(state);
    const { state: parsed, notes } = parseState(formatState(state));
    assert.deepEqual(notes, []);
    const expected = { ...state };
    for (const name of unlinked(state)) expected[name] = DEFAULTS[name];
    assert.deepEqual(parsed, expected);
  }), runs(5000));
});

// Queries that once showed a problem or sit on an edge, with what they must give.
const CORPUS = [
  // Levels that differ past the 6th digit: the link used to round them to 6 digits, so it read
  // back as other levels (or, here, as levels that are no longer decreasing, with a note).
  ['?levels=20.0000001,20', { levels: [20.0000001, 20], steps: 3 }],
  ['?levels=79.9999999', { levels: [79.9999999], steps: 2 }],
  ['?levels=0.00200000001', { levels: [0.00200000001], steps: 2 }],
  // A huge value is quoted cut short, not whole.
  [`?seed=${'x'.repeat(100000)}`, { seed: DEFAULTS.seed }],
  ['?seed=%', { seed: DEFAULTS.seed }],
  ['?seed=1e400', { seed: DEFAULTS.seed }],
  ['?seed=-0', { seed: 0 }],
  ['?t=-0', { t: 0 }],
  ['?seed=%20%2042', { seed: 42 }],
  ['?count=64&mode=interpolate', { count: 64, mode: 'interpolate', label: null }],
  ['?steps=8&levels=', { levels: [], steps: 1 }],
  [`?img=${'A'.repeat(MAX_TEXT + 1)}`, { img: null }],
  ['?label=0-9&mode=interpolate', { label: null }],
  ['?w=0123ABCD', { weights: null }],
];

test('the corpus of edge cases reads as it must', () => {
  for (const [q, fields] of CORPUS) {
    checkQuery(q);
    const { state } = parseState(q);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(state[k], v, `${q.slice(0, 60)}: ${k}`);
  }
});
