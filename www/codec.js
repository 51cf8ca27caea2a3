// A drawing in the share link: 28x28 pixels at 16 grey levels (4 bits each) and, for inpainting,
// a 1-bit mask of the pixels to keep, deflated and written as base64url. A digit-like drawing
// takes about 100-250 characters, the worst case (pure noise with a mask) about 660, so it
// always fits in a URL.
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const LEVELS = 15; // grey levels 0..15

/** Grey level 0..15 of a pixel value in [-1, 1]. */
export const quantize = (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * LEVELS / 2);
/** Pixel value in [-1, 1] of a grey level 0..15. */
export const dequantize = (q) => (2 * q) / LEVELS - 1;

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

function toBase64Url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** `grey`: 784 levels 0..15; `mask`: 784 values 0/1 or null. Resolves to the link text. */
export async function encodeDrawing(grey, mask = null) {
  const bytes = new Uint8Array(PIXELS / 2 + (mask ? PIXELS / 8 : 0));
  for (let i = 0; i < PIXELS; i += 2) bytes[i / 2] = (grey[i] << 4) | grey[i + 1];
  if (mask) for (let i = 0; i < PIXELS; i++) if (mask[i]) bytes[PIXELS / 2 + (i >> 3)] |= 0x80 >> (i & 7);
  return toBase64Url(await pipe(bytes, new CompressionStream('deflate-raw')));
}

/** The inverse of `encodeDrawing`: `{grey, mask}` (mask null when absent); throws on bad text. */
export async function decodeDrawing(text) {
  if (!/^[A-Za-z0-9_-]{1,4000}$/.test(text)) throw new Error('not base64url text');
  const bytes = await pipe(fromBase64Url(text), new DecompressionStream('deflate-raw'));
  if (bytes.length !== PIXELS / 2 && bytes.length !== PIXELS / 2 + PIXELS / 8) {
    throw new Error(`${bytes.length} bytes, expected ${PIXELS / 2} or ${PIXELS / 2 + PIXELS / 8}`);
  }
  const grey = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i += 2) [grey[i], grey[i + 1]] = [bytes[i / 2] >> 4, bytes[i / 2] & 15];
  let mask = null;
  if (bytes.length > PIXELS / 2) {
    mask = new Uint8Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) mask[i] = (bytes[PIXELS / 2 + (i >> 3)] >> (7 - (i & 7))) & 1;
  }
  return { grey, mask };
}
