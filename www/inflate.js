// A raw DEFLATE (RFC 1951) decoder for the drawing in the share link (codec.js), small and from
// scratch because the browser's DecompressionStream cannot do two things the link needs:
//  - stop early: it inflates the whole input however large the output gets (a 3 kB link text
//    inflates to megabytes) before the caller can look at the size; this one stops as soon as the
//    output would pass `maxOutput` bytes;
//  - say where the stream ends: it reads the final block's end itself, so the caller can refuse
//    any byte after it (and non-zero padding bits in the last byte), which a stream decoder that
//    ignores what follows the final block would let through.
// Speed does not matter here (at most a few kB in, 490 bytes out), so it decodes canonical Huffman
// codes bit by bit from their code-length counts, as zlib's reference decoder `puff` does. It
// accepts exactly what zlib's inflate accepts (tests/browser/codec.test.mjs checks that against
// node:zlib on generated and mutated streams).

/** A stream this decoder refuses; `reason` is one of the keys of `INFLATE_REASONS`. */
export class InflateError extends Error {
  constructor(reason, detail) {
    super(`${INFLATE_REASONS[reason]}${detail ? ` (${detail})` : ''}`);
    this.name = 'InflateError';
    this.reason = reason;
    this.detail = detail;
  }
}

export const INFLATE_REASONS = Object.freeze({
  truncated: 'the deflate data ends before its final block does',
  corrupt: 'corrupt deflate data',
  tooLong: 'the deflate data inflates to more bytes than allowed',
  trailing: 'there is data after the end of the deflate stream',
});

const MAX_BITS = 15;
// Base lengths and extra bits of the length symbols 257..285, and of the distance symbols 0..29.
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
// The order in which a dynamic block lists the code lengths of the code-length alphabet.
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Reads bits least-significant first, as DEFLATE packs them. */
class BitReader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0; // next byte to load
    this.buf = 0; // loaded bits not yet used
    this.count = 0; // how many
  }

  bits(n) {
    while (this.count < n) {
      if (this.pos >= this.bytes.length) throw new InflateError('truncated');
      this.buf |= this.bytes[this.pos++] << this.count;
      this.count += 8;
    }
    const value = this.buf & ((1 << n) - 1);
    this.buf >>>= n;
    this.count -= n;
    return value;
  }

  /** Drops the bits left in the current byte (stored blocks start on a byte boundary). */
  align() {
    this.buf = 0;
    this.count = 0;
  }
}

/**
 * The canonical Huffman code of `lengths` (a code length per symbol, 0: unused), as counts per
 * length and the symbols in code order. `kind` follows zlib's rules: an over-subscribed set is
 * always refused; an incomplete one only passes for literal/length and distance codes made of a
 * single code of length 1; a distance code with no symbols at all passes (a block of literals only).
 */
function huffman(lengths, kind) {
  const count = new Uint16Array(MAX_BITS + 1);
  for (const len of lengths) count[len]++;
  let max = MAX_BITS;
  while (max >= 1 && count[max] === 0) max--;
  const symbol = new Uint16Array(lengths.length);
  if (max === 0) return { count, symbol, empty: true };
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = (left << 1) - count[len];
    if (left < 0) throw new InflateError('corrupt', `over-subscribed ${kind} code`);
  }
  if (left > 0 && (kind === 'code-length' || max !== 1)) throw new InflateError('corrupt', `incomplete ${kind} code`);
  const offset = new Uint16Array(MAX_BITS + 2);
  for (let len = 1; len <= MAX_BITS; len++) offset[len + 1] = offset[len] + count[len];
  lengths.forEach((len, s) => { if (len) symbol[offset[len]++] = s; });
  return { count, symbol, empty: false };
}

/** Reads one symbol of code `h`. */
function decode(reader, h, kind) {
  let code = 0; // the bits read so far, first bit most significant (Huffman codes are packed so)
  let first = 0; // the first code of the current length
  let index = 0; // its position in h.symbol
  for (let len = 1; len <= MAX_BITS; len++) {
    code |= reader.bits(1);
    const n = h.count[len];
    if (code - first < n) return h.symbol[index + code - first];
    index += n;
    first = (first + n) << 1;
    code <<= 1;
  }
  throw new InflateError('corrupt', `invalid ${kind} code`);
}

let fixed = null;
/** The fixed codes of block type 1 (288 literal/length and 32 distance symbols, RFC 1951 3.2.6). */
function fixedCodes() {
  if (!fixed) {
    const lengths = new Uint8Array(288);
    lengths.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = { lit: huffman(lengths, 'literal/length'), dist: huffman(new Uint8Array(32).fill(5), 'distance') };
  }
  return fixed;
}

/** The codes of a dynamic block (block type 2), read from its header. */
function dynamicCodes(reader) {
  const nlen = reader.bits(5) + 257;
  const ndist = reader.bits(5) + 1;
  const ncode = reader.bits(4) + 4;
  if (nlen > 286 || ndist > 30) throw new InflateError('corrupt', 'too many length or distance symbols');
  const clens = new Uint8Array(19);
  for (let i = 0; i < ncode; i++) clens[CLEN_ORDER[i]] = reader.bits(3);
  const clen = huffman(clens, 'code-length');
  if (clen.empty) throw new InflateError('corrupt', 'empty code-length code');
  const lengths = new Uint8Array(nlen + ndist);
  for (let i = 0; i < nlen + ndist;) {
    const sym = decode(reader, clen, 'code-length');
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let value = 0;
    let repeat;
    if (sym === 16) {
      if (i === 0) throw new InflateError('corrupt', 'a repeat with no previous length');
      value = lengths[i - 1];
      repeat = 3 + reader.bits(2);
    } else if (sym === 17) {
      repeat = 3 + reader.bits(3);
    } else {
      repeat = 11 + reader.bits(7);
    }
    if (i + repeat > nlen + ndist) throw new InflateError('corrupt', 'code lengths repeat past their end');
    lengths.fill(value, i, i + repeat);
    i += repeat;
  }
  if (lengths[256] === 0) throw new InflateError('corrupt', 'no end-of-block code');
  return {
    lit: huffman(lengths.subarray(0, nlen), 'literal/length'),
    dist: huffman(lengths.subarray(nlen), 'distance'),
  };
}

/**
 * Inflates raw DEFLATE `bytes`. Throws an `InflateError` as soon as the output would pass
 * `maxOutput` bytes, and, unless `trailing` is true, when anything follows the final block: more
 * bytes, or set bits in the padding of its last byte. Returns `{output, end, padding}`: the
 * inflated bytes, how many bytes of input the stream took, and how many (high) bits of the last
 * of them are padding.
 */
export function inflateRaw(bytes, { maxOutput, trailing = false }) {
  const reader = new BitReader(bytes);
  const out = new Uint8Array(maxOutput);
  let n = 0;
  const room = (k) => {
    if (n + k > maxOutput) throw new InflateError('tooLong', `more than ${maxOutput} bytes`);
  };
  let last = 0;
  while (!last) {
    last = reader.bits(1);
    const type = reader.bits(2);
    if (type === 0) {
      reader.align();
      if (reader.pos + 4 > bytes.length) throw new InflateError('truncated');
      const len = bytes[reader.pos] | (bytes[reader.pos + 1] << 8);
      const nlen = bytes[reader.pos + 2] | (bytes[reader.pos + 3] << 8);
      reader.pos += 4;
      if (len !== (~nlen & 0xffff)) throw new InflateError('corrupt', 'stored block length does not match its complement');
      if (reader.pos + len > bytes.length) throw new InflateError('truncated');
      room(len);
      out.set(bytes.subarray(reader.pos, reader.pos + len), n);
      n += len;
      reader.pos += len;
      continue;
    }
    if (type === 3) throw new InflateError('corrupt', 'invalid block type');
    const { lit, dist } = type === 1 ? fixedCodes() : dynamicCodes(reader);
    for (;;) {
      const sym = decode(reader, lit, 'literal/length');
      if (sym < 256) {
        room(1);
        out[n++] = sym;
        continue;
      }
      if (sym === 256) break;
      if (sym > 285) throw new InflateError('corrupt', 'invalid literal/length code');
      const length = LENGTH_BASE[sym - 257] + reader.bits(LENGTH_EXTRA[sym - 257]);
      if (dist.empty) throw new InflateError('corrupt', 'invalid distance code');
      const d = decode(reader, dist, 'distance');
      if (d > 29) throw new InflateError('corrupt', 'invalid distance code');
      const distance = DIST_BASE[d] + reader.bits(DIST_EXTRA[d]);
      if (distance > n) throw new InflateError('corrupt', 'distance too far back');
      room(length);
      for (let k = 0; k < length; k++, n++) out[n] = out[n - distance];
    }
  }
  if (!trailing && (reader.buf !== 0 || reader.pos !== bytes.length)) {
    const extra = bytes.length - reader.pos;
    throw new InflateError('trailing', extra ? `${extra} byte${extra > 1 ? 's' : ''}` : 'set padding bits');
  }
  return { output: out.slice(0, n), end: reader.pos, padding: reader.count };
}
