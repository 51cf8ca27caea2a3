// Property tests of the drawing's link codec (www/codec.js) and its inflater (www/inflate.js), in
// plain node (no browser): node's zlib is the reference the inflater is held to.
// Runs with a fixed seed so that a failure repeats; PROPERTY_SEED=<n> explores other cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { COMPLAINTS, DrawingError, MAX_TEXT, PIXELS, decodeDrawing, dequantize, encodeDrawing, quantize } from '../../www/codec.js';
import { INFLATE_REASONS, InflateError, inflateRaw } from '../../www/inflate.js';

const seed = Number(process.env.PROPERTY_SEED ?? 20261130);
const runs = (numRuns) => ({ seed, numRuns });

const PLAIN = PIXELS / 2; // 392 bytes: grey levels only
const MASKED = PIXELS / 2 + PIXELS / 8; // 490 bytes: with the inpainting mask
const MAX_OUT = MASKED;

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const { constants: Z } = zlib;

/** zlib's verdict on raw deflate `bytes` (it ignores anything after the final block). */
function zlibInflate(bytes) {
  try {
    return { output: zlib.inflateRawSync(bytes, { maxOutputLength: 1 << 24 }) };
  } catch (error) {
    return { error };
  }
}

/** Ours, never throwing: `{output, end, padding}` or `{error}` (the error must be an InflateError). */
function oursInflate(bytes, options) {
  try {
    return inflateRaw(bytes, options);
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    return { error };
  }
}

// Payloads that compress in every way deflate can: runs, a small alphabet, plain noise.
const payload = (maxLength) => fc.oneof(
  fc.uint8Array({ maxLength }),
  fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 300 })), { maxLength: 12 })
    .map((runs) => Uint8Array.from(runs.flatMap(([b, n]) => Array(n).fill(b))).slice(0, maxLength)),
  fc.array(fc.constantFrom(0, 1, 15, 16, 17, 255), { maxLength }).map((a) => Uint8Array.from(a)),
);
// Every block type zlib writes: stored (level 0), fixed Huffman (Z_FIXED), dynamic, RLE, Huffman only.
const deflateOptions = fc.record({
  level: fc.integer({ min: 0, max: 9 }),
  strategy: fc.constantFrom(Z.Z_DEFAULT_STRATEGY, Z.Z_FILTERED, Z.Z_HUFFMAN_ONLY, Z.Z_RLE, Z.Z_FIXED),
  windowBits: fc.integer({ min: 9, max: 15 }),
  memLevel: fc.integer({ min: 1, max: 9 }),
});
const deflated = fc.tuple(payload(700), deflateOptions).map(([data, options]) => ({ data, deflated: new Uint8Array(zlib.deflateRawSync(data, options)) }));

/** Random edits of a byte string: bit flips, byte changes, cuts, insertions, appended bytes. */
const mutated = (bytesArb) => fc.tuple(bytesArb, fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'set', 'cut', 'insert', 'append', 'truncate')), { minLength: 1, maxLength: 4 }))
  .map(([bytes, edits]) => {
    let b = Array.from(bytes);
    for (const [at, value, kind] of edits) {
      const i = b.length ? at % b.length : 0;
      if (kind === 'flip' && b.length) b[i] ^= 1 << (value % 8);
      else if (kind === 'set' && b.length) b[i] = value;
      else if (kind === 'cut') b.splice(i, 1);
      else if (kind === 'insert') b.splice(i, 0, value);
      else if (kind === 'append') b.push(value);
      else if (kind === 'truncate') b = b.slice(0, i);
    }
    return Uint8Array.from(b);
  });

/**
 * The inflater agrees with zlib on `bytes`: what it inflates, zlib inflates to the same bytes, and
 * the stream ends exactly at `end` (zlib needs all of those bytes and no more); what it refuses,
 * zlib refuses too, except that it stops at MAX_OUT bytes where zlib goes on.
 */
function agreesWithZlib(bytes) {
  const ours = oursInflate(bytes, { maxOutput: MAX_OUT, trailing: true });
  const ref = zlibInflate(bytes);
  if (!ours.error) {
    assert.ok(!ref.error, `zlib refuses what we inflate: ${ref.error?.message}`);
    assert.deepEqual(ours.output, new Uint8Array(ref.output));
    assert.ok(!zlibInflate(bytes.subarray(0, ours.end)).error, 'the stream ends within `end` bytes');
    assert.ok(zlibInflate(bytes.subarray(0, ours.end - 1)).error, 'the stream needs all `end` bytes');
    assert.ok(ours.padding >= 0 && ours.padding < 8);
  } else if (ours.error.reason === 'tooLong') {
    assert.ok(ref.error || ref.output.length > MAX_OUT, `we stop at ${MAX_OUT} bytes but zlib makes ${ref.output?.length}`);
  } else {
    assert.ok(ref.error, `we refuse (${ours.error.message}) what zlib inflates to ${ref.output?.length} bytes`);
  }
  return ours;
}

test('the inflater inflates whatever zlib deflates, in any block type, and finds the end of the stream', () => {
  fc.assert(fc.property(deflated, ({ data, deflated }) => {
    const ours = inflateRaw(deflated, { maxOutput: Math.max(data.length, 1) });
    assert.deepEqual(ours.output, data);
    assert.equal(ours.end, deflated.length, 'nothing left over');
    if (data.length > 0) {
      assert.throws(() => inflateRaw(deflated, { maxOutput: data.length - 1 }), (e) => e.reason === 'tooLong');
    }
  }), runs(2000));
});

test('the inflater agrees with zlib on mutated and random streams', () => {
  fc.assert(fc.property(fc.oneof(mutated(deflated.map((d) => d.deflated)), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 3000 })), (bytes) => {
    agreesWithZlib(bytes);
  }), runs(5000));
});

test('the inflater stops as soon as the output passes the bound, before reading on', () => {
  // A stored block of 491 bytes followed by bytes that are no deflate at all: refused for its
  // size, so the inflater never got to the junk.
  const stored = Uint8Array.from([0x00, 491 & 255, 491 >> 8, ~491 & 255, (~491 >> 8) & 255, ...new Uint8Array(491), 0xff, 0xff]);
  assert.throws(() => inflateRaw(stored, { maxOutput: MAX_OUT }), (e) => e instanceof InflateError && e.reason === 'tooLong');
  // A bomb: 3 kB of deflate that inflate to 3 MB, its second half made corrupt. Refused for its
  // size, so the inflater stopped within its first bytes and never met the corrupt part.
  const bomb = new Uint8Array(zlib.deflateRawSync(new Uint8Array(3_000_000)));
  bomb.fill(0xff, bomb.length >> 1);
  assert.ok(zlibInflate(bomb).error, 'zlib, reading on, finds the corrupt part');
  assert.throws(() => inflateRaw(bomb, { maxOutput: MAX_OUT }), (e) => e.reason === 'tooLong');
});

test('bytes after the final block, and set padding bits, are refused', () => {
  fc.assert(fc.property(deflated, fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.nat(7), ({ data, deflated }, junk, bit) => {
    const options = { maxOutput: Math.max(data.length, 1) };
    const withJunk = Uint8Array.from([...deflated, ...junk]);
    assert.throws(() => inflateRaw(withJunk, options), (e) => e instanceof InflateError && e.reason === 'trailing');
    assert.deepEqual(inflateRaw(withJunk, { ...options, trailing: true }).output, data);
    const { padding } = inflateRaw(deflated, options);
    if (padding > 0) {
      const flipped = deflated.slice();
      flipped[flipped.length - 1] ^= 0x80 >> (bit % padding); // one of the `padding` high bits
      assert.throws(() => inflateRaw(flipped, options), (e) => e.reason === 'trailing');
      assert.deepEqual(inflateRaw(flipped, { ...options, trailing: true }).output, data, 'those bits were padding');
    }
  }), runs(1000));
});

/** Random drawings: grey levels 0..15 (digit-like or noise) and an optional mask. */
const drawing = fc.record({
  grey: fc.oneof(
    fc.uint8Array({ minLength: PIXELS, maxLength: PIXELS, max: 15 }),
    fc.array(fc.tuple(fc.nat(PIXELS - 1), fc.integer({ min: 1, max: 15 })), { maxLength: 120 }).map((ink) => {
      const grey = new Uint8Array(PIXELS);
      for (const [i, g] of ink) grey[i] = g;
      return grey;
    }),
  ),
  mask: fc.option(fc.uint8Array({ minLength: PIXELS, maxLength: PIXELS, max: 1 }), { nil: null }),
});

/** A drawing (`mask` null: none) becomes link text of fewer than `maxLength` base64url characters
 * that decodes back to exactly it. */
async function assertRoundTrip(grey, mask, maxLength) {
  const text = await encodeDrawing(grey, mask);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.ok(text.length < maxLength, `${text.length} characters`);
  const back = await decodeDrawing(text);
  assert.deepEqual(back.grey, grey);
  assert.deepEqual(back.mask, mask);
}

test('a digit and its mask survive the link encoding exactly, and stay short', async () => {
  const grey = new Uint8Array(PIXELS);
  const mask = new Uint8Array(PIXELS).fill(1);
  for (let row = 4; row < 24; row++) grey[row * 28 + 13] = 15; // a "1"
  for (let row = 4; row < 24; row++) grey[row * 28 + 14] = 7;
  for (let i = 0; i < 300; i++) mask[i] = 0;
  await assertRoundTrip(grey, mask, 120);
  await assertRoundTrip(grey, null, 120);
  const noisy = Uint8Array.from({ length: PIXELS }, (_, i) => (i * 7919) % 16);
  await assertRoundTrip(noisy, mask, 700);
  await assert.rejects(decodeDrawing('AAAA'));
  await assert.rejects(decodeDrawing('not base64!'));
  assert.equal(quantize(dequantize(9)), 9);
  assert.equal(quantize(-1), 0);
  assert.equal(quantize(1), 15);
});

test('every drawing survives the link encoding exactly, in fewer than 700 characters', async () => {
  await fc.assert(fc.asyncProperty(drawing, ({ grey, mask }) => assertRoundTrip(grey, mask, 700)), runs(1000));
});

/** The drawing's payload as encodeDrawing packs it (the mask's bits after the grey nibbles). */
function pack(grey, mask) {
  const bytes = new Uint8Array(mask ? MASKED : PLAIN);
  for (let i = 0; i < PIXELS; i += 2) bytes[i / 2] = (grey[i] << 4) | grey[i + 1];
  if (mask) for (let i = 0; i < PIXELS; i++) if (mask[i]) bytes[PLAIN + (i >> 3)] |= 0x80 >> (i & 7);
  return bytes;
}

test('a drawing deflated by any deflate encoder (not only this browser\'s) decodes to itself', async () => {
  await fc.assert(fc.asyncProperty(drawing, deflateOptions, async ({ grey, mask }, options) => {
    const back = await decodeDrawing(b64url(zlib.deflateRawSync(pack(grey, mask), options)));
    assert.deepEqual(back.grey, grey);
    assert.deepEqual(back.mask, mask);
  }), runs(1000));
});

/** A drawing is decoded (784 levels 0..15, a 0/1 mask or none) or refused with a listed complaint. */
async function decodedOrListed(text) {
  let result;
  try {
    result = await decodeDrawing(text);
  } catch (e) {
    assert.ok(e instanceof DrawingError, `not a DrawingError: ${e?.name}: ${e?.message}`);
    assert.ok(Object.hasOwn(COMPLAINTS, e.reason), `unlisted reason ${e.reason}`);
    assert.ok(e.message.startsWith(COMPLAINTS[e.reason]), e.message);
    return e.reason;
  }
  assert.equal(result.grey.length, PIXELS);
  assert.ok(result.grey.every((g) => g <= 15));
  if (result.mask !== null) {
    assert.equal(result.mask.length, PIXELS);
    assert.ok(result.mask.every((m) => m === 0 || m === 1));
  }
  return 'ok';
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const base64urlText = (maxLength) => fc.string({ unit: fc.constantFrom(...B64URL), maxLength });
/** Valid drawings' texts with characters changed, cut, inserted or appended. */
const mutatedText = fc.tuple(drawing, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...B64URL), fc.constantFrom('set', 'cut', 'insert', 'append')), { minLength: 1, maxLength: 3 }))
  .map(([{ grey, mask }, edits]) => ({ grey, mask, edits }));

test('any text in, a drawing or a listed complaint out, never another exception', async () => {
  const texts = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }), // anything, lone surrogates included
    base64urlText(8), // short text: every length modulo 4
    base64urlText(MAX_TEXT + 10),
    fc.uint8Array({ maxLength: 700 }).map(b64url), // random bytes, canonical base64url
    mutated(deflated.map((d) => d.deflated)).map(b64url), // near-valid deflate
    fc.tuple(payload(MASKED + 10), deflateOptions).map(([data, options]) => b64url(zlib.deflateRawSync(data, options))),
  );
  await fc.assert(fc.asyncProperty(texts, async (text) => { await decodedOrListed(text); }), runs(4000));
  await fc.assert(fc.asyncProperty(mutatedText, async ({ grey, mask, edits }) => {
    let text = await encodeDrawing(grey, mask);
    for (const [at, c, kind] of edits) {
      const i = at % (text.length + 1);
      if (kind === 'set') text = text.slice(0, i) + c + text.slice(i + 1);
      else if (kind === 'cut') text = text.slice(0, i) + text.slice(i + 1);
      else if (kind === 'insert') text = text.slice(0, i) + c + text.slice(i);
      else text += c;
    }
    await decodedOrListed(text);
  }), runs(2000));
});

// Inputs that once showed a problem or sit on an edge; each with the answer it must get.
const CORPUS = [
  ['', 'text'],
  ['A', 'base64'], // one character: no whole byte
  ['AAAA', 'truncated'], // a stored block with no length
  ['AAAAA', 'base64'],
  ['AB', 'bits'], // decodes to the byte of "AA": set bits past the last byte
  ['=', 'text'],
  ['AA==', 'text'], // padding is not in the alphabet the page writes
  ['a'.repeat(MAX_TEXT + 1), 'text'],
  ['/w', 'text'], // base64, not base64url
  ['Bw', 'corrupt'], // block type 3
  ['AwA', 'ok-empty'], // an empty fixed block: a valid stream of 0 bytes, refused for its size
];

test('the corpus of edge cases gets its complaint', async () => {
  for (const [text, expected] of CORPUS) {
    const reason = await decodedOrListed(text);
    assert.equal(reason, expected === 'ok-empty' ? 'size' : expected, JSON.stringify(text));
  }
  // A valid drawing with bytes after its deflate stream: refused, where the browser's
  // DecompressionStream (and node's) would have read the drawing and dropped the rest.
  const grey = new Uint8Array(PIXELS).fill(3);
  const text = await encodeDrawing(grey);
  const bytes = Buffer.from(text, 'base64url');
  const junk = b64url(Buffer.concat([bytes, Buffer.from('junk')]));
  await assert.rejects(decodeDrawing(junk), (e) => e.reason === 'trailing' && /after the end of the deflate stream \(4 bytes\)/.test(e.message));
  // The largest text the link takes, inflating to megabytes: refused for its size, at once.
  const bomb = b64url(zlib.deflateRawSync(new Uint8Array(3_000_000), { level: 9 }));
  assert.ok(bomb.length <= MAX_TEXT);
  await assert.rejects(decodeDrawing(bomb), (e) => e.reason === 'tooLong' && /more than 490 bytes/.test(e.message));
  // A valid payload with one byte too many: the bound is the largest valid size exactly.
  await assert.rejects(decodeDrawing(b64url(zlib.deflateRawSync(new Uint8Array(MASKED + 1)))), (e) => e.reason === 'tooLong');
  await assert.rejects(decodeDrawing(b64url(zlib.deflateRawSync(new Uint8Array(MASKED - 1)))), (e) => e.reason === 'size');
  for (const reason of Object.keys(INFLATE_REASONS)) assert.ok(Object.hasOwn(COMPLAINTS, reason), `inflate's ${reason} is a listed complaint`);
});
