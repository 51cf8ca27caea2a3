// The drawing canvas: 28x28 grey levels (0..15) and a mask of known pixels, painted with mouse,
// touch or pen (pointer events), with brush size, undo and clear. Tools:
//   'ink'   paints white (a scribble for stroke-guided generation),
//   'erase' paints black,
//   'hide'  marks pixels unknown (what inpainting fills in); shown in red.
import { PIXELS, SIDE, LEVELS, dequantize } from './codec.js';

const MAX_UNDO = 50;

export class Sketch extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    canvas.width = canvas.height = SIDE;
    this.grey = new Uint8Array(PIXELS);
    this.mask = new Uint8Array(PIXELS).fill(1);
    this.tool = 'ink';
    this.radius = 1.2; // brush radius in image pixels
    this.history = [];
    this.last = null;
    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    for (const type of ['pointerup', 'pointercancel']) canvas.addEventListener(type, (e) => this.#up(e));
    this.render();
  }

  /** True when any pixel is marked unknown. */
  get hasHole() {
    return this.mask.some((m) => m === 0);
  }

  /** The pixels in [-1, 1] (784 values). */
  values() {
    return Float32Array.from(this.grey, dequantize);
  }

  /** Replaces the drawing (keeping the old one for undo). */
  set(grey, mask = null) {
    this.#remember();
    this.grey.set(grey);
    this.mask.fill(1);
    if (mask) this.mask.set(mask);
    this.#changed();
  }

  clear() {
    this.set(new Uint8Array(PIXELS));
  }

  undo() {
    const previous = this.history.pop();
    if (!previous) return;
    [this.grey, this.mask] = previous;
    this.#changed();
  }

  render() {
    const ctx = this.canvas.getContext('2d');
    const image = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < PIXELS; i++) {
      const v = Math.round((this.grey[i] * 255) / LEVELS);
      image.data.set(this.mask[i] ? [v, v, v, 255] : [150 + v / 4, 30, 40, 255], i * 4);
    }
    ctx.putImageData(image, 0, 0);
  }

  #remember() {
    this.history.push([this.grey.slice(), this.mask.slice()]);
    if (this.history.length > MAX_UNDO) this.history.shift();
  }

  #changed() {
    this.render();
    this.dispatchEvent(new Event('change'));
  }

  #point(e) {
    const box = this.canvas.getBoundingClientRect();
    return [((e.clientX - box.left) / box.width) * SIDE, ((e.clientY - box.top) / box.height) * SIDE];
  }

  #down(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.#remember();
    this.last = this.#point(e);
    this.#dab(...this.last);
    this.render();
  }

  #move(e) {
    if (!this.last) return;
    const [x, y] = this.#point(e);
    const [x0, y0] = this.last;
    const n = Math.max(1, Math.ceil(Math.hypot(x - x0, y - y0) / 0.25));
    for (let k = 1; k <= n; k++) this.#dab(x0 + ((x - x0) * k) / n, y0 + ((y - y0) * k) / n);
    this.last = [x, y];
    this.render();
  }

  #up() {
    if (!this.last) return;
    this.last = null;
    this.#changed();
  }

  /** One brush imprint centred at (x, y) in image pixels, anti-aliased over its rim. */
  #dab(x, y) {
    const r = this.radius;
    for (let row = Math.max(0, Math.floor(y - r - 1)); row < Math.min(SIDE, Math.ceil(y + r + 1)); row++) {
      for (let col = Math.max(0, Math.floor(x - r - 1)); col < Math.min(SIDE, Math.ceil(x + r + 1)); col++) {
        const cover = Math.max(0, Math.min(1, r + 0.5 - Math.hypot(col + 0.5 - x, row + 0.5 - y)));
        if (cover <= 0) continue;
        const i = row * SIDE + col;
        if (this.tool === 'ink') this.grey[i] = Math.max(this.grey[i], Math.round(cover * LEVELS));
        else if (this.tool === 'erase') this.grey[i] = Math.min(this.grey[i], Math.round((1 - cover) * LEVELS));
        else if (cover >= 0.5) this.mask[i] = 0;
      }
    }
  }
}
