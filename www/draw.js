// Drawing model outputs (values in [-1, 1], 784 per 28x28 image) on canvases.
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

const toByte = (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5);

/** Draws image `index` of `pixels` into a new canvas with CSS class `className`. */
export function imageCanvas(pixels, index = 0, className = 'digit') {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIDE;
  canvas.className = className;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const v = toByte(pixels[index * PIXELS + i]);
    image.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** Draws all images of `pixels` as a grid of `columns` on one canvas (1 px gaps, scale `scale`). */
export function gridCanvas(pixels, columns, scale = 1) {
  const n = pixels.length / PIXELS;
  const rows = Math.ceil(n / columns);
  const cell = SIDE + 1;
  const canvas = document.createElement('canvas');
  canvas.width = (columns * cell + 1) * scale;
  canvas.height = (rows * cell + 1) * scale;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#444';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < n; i++) {
    const x = (1 + (i % columns) * cell) * scale;
    const y = (1 + Math.floor(i / columns) * cell) * scale;
    ctx.drawImage(imageCanvas(pixels, i), x, y, SIDE * scale, SIDE * scale);
  }
  return canvas;
}
