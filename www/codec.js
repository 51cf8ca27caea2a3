// A drawing in the share link: 28x28 pixels at 16 grey levels (4 bits each) and, for inpainting,
// a 1-bit mask of the pixels to keep, deflated and written as base64url. A digit-like drawing
// takes about 100-250 characters, the worst case (pure noise with a mask) about 660, so it
// always fits in a URL.
// Encoding uses the browser's CompressionStream; decoding uses inflate.js, which stops at the
// largest valid size and refuses anything after the end of the deflate stream (see there why).
import { InflateError, inflateRaw } from './inflate.js';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const LEVELS = 15; // grey levels 0..15

/** Grey level 0..15 of a pixel value in [-1, 1]. */
export const quantize = (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * LEVELS / 2);
/** Pixel value in [-1, 1] of a grey level 0..15. */
export const dequantize = (q) => (2 * q) / LEVELS - 1;

/** Bytes of the two valid payloads: the grey levels, and the grey levels with a mask. */
const PLAIN_BYTES = PIXELS / 2;
const MASKED_BYTES = PIXELS / 2 + PIXELS / 8;
/** The longest link text `parseState` keeps (3,000 bytes of deflate data: far above the worst case). */
export const MAX_TEXT = 4000;

/**
 * Every way a drawing's text can be refused: `DrawingError.reason` is one of these keys, and the
 * message starts with its text. A link's drawing is either decoded or refused for one of these.
 */
export const COMPLAINTS = Object.freeze({
  text: `not base64url text of 1 to ${MAX_TEXT} characters`,
  base64: 'not a whole number of bytes in base64url',
  bits: 'stray bits in the last base64url character',
  truncated: 'the deflate data is cut short',
  corrupt: 'corrupt deflate data',
  tooLong: `it inflates to more than ${MASKED_BYTES} bytes`,
  trailing: 'there is data after the end of the deflate stream',
  size: `it inflates to a size other than ${PLAIN_BYTES} or ${MASKED_BYTES} bytes`,
});

/** A drawing's text that `decodeDrawing` refuses; `reason` is a key of `COMPLAINTS`. */
export class DrawingError extends Error {
  constructor(reason, detail) {
    super(`${COMPLAINTS[reason]}${detail ? ` (${detail})` : ''}`);
    this.name = 'DrawingError';
    this.reason = reason;
  }
}

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

function toBase64Url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The bytes of base64url `text` (already checked to hold only its alphabet). Only the text
 * `toBase64Url` writes is accepted: a length that leaves a single character over is no whole
 * byte, and set bits past the last byte would let many texts stand for one drawing.
 */
function fromBase64Url(text) {
  if (text.length % 4 === 1) throw new DrawingError('base64', `${text.length} characters`);
  let s;
  try {
    s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw new DrawingError('base64'); // not reached for the alphabet and lengths let through
  }
  const bytes = Uint8Array.from(s, (c) => c.charCodeAt(0));
  if (toBase64Url(bytes) !== text) throw new DrawingError('bits');
  return bytes;
}

/** `grey`: 784 levels 0..15; `mask`: 784 values 0/1 or null. Resolves to the link text. */
export async function encodeDrawing(grey, mask = null) {
  const bytes = new Uint8Array(mask ? MASKED_BYTES : PLAIN_BYTES);
  for (let i = 0; i < PIXELS; i += 2) bytes[i / 2] = (grey[i] << 4) | grey[i + 1];
  if (mask) for (let i = 0; i < PIXELS; i++) if (mask[i]) bytes[PLAIN_BYTES + (i >> 3)] |= 0x80 >> (i & 7);
  return toBase64Url(await pipe(bytes, new CompressionStream('deflate-raw')));
}

/**
 * The inverse of `encodeDrawing`: `{grey, mask}` (mask null when absent). Any other text is
 * refused with a `DrawingError` (and nothing else): inflating stops as soon as the output passes
 * the largest valid size, and bytes after the end of the deflate stream are refused.
 */
export async function decodeDrawing(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]+$/.test(text) || text.length > MAX_TEXT) throw new DrawingError('text');
  let bytes;
  try {
    bytes = inflateRaw(fromBase64Url(text), { maxOutput: MASKED_BYTES }).output;
  } catch (e) {
    if (e instanceof InflateError) throw new DrawingError(e.reason, e.detail);
    throw e;
  }
  if (bytes.length !== PLAIN_BYTES && bytes.length !== MASKED_BYTES) throw new DrawingError('size', `${bytes.length} bytes`);
  const grey = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i += 2) [grey[i], grey[i + 1]] = [bytes[i / 2] >> 4, bytes[i / 2] & 15];
  let mask = null;
  if (bytes.length === MASKED_BYTES) {
    mask = new Uint8Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) mask[i] = (bytes[PLAIN_BYTES + (i >> 3)] >> (7 - (i & 7))) & 1;
  }
  return { grey, mask };
}
