//! 28x28 grayscale PNG in and out, and sample grids.

use std::path::Path;

use crate::sampling::PIXELS;
use crate::unet::IMAGE_SIZE;

/// [-1, 1] -> 0..=255.
pub fn to_u8(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Reads a 28x28 PNG (gray, gray+alpha, RGB or RGBA; 8 or 16 bit) as 784 values in [-1, 1].
pub fn read_gray_png(path: &Path) -> Result<Vec<f32>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("not a readable PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| format!("corrupted PNG: {e}"))?;
    if (info.width as usize, info.height as usize) != (IMAGE_SIZE, IMAGE_SIZE) {
        return Err(format!("image is {}x{}, expected 28x28", info.width, info.height));
    }
    let channels = info.color_type.samples();
    let bytes = &buf[..info.buffer_size()];
    Ok((0..PIXELS)
        .map(|i| {
            let px = &bytes[i * channels..(i + 1) * channels];
            let gray = if channels >= 3 {
                0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])
            } else {
                f32::from(px[0])
            };
            gray / 127.5 - 1.0
        })
        .collect())
}

/// Writes an 8-bit grayscale PNG of `width x height` pixels in [-1, 1].
pub fn write_gray_png(path: &Path, pixels: &[f32], width: usize, height: usize) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = pixels.iter().map(|&v| to_u8(v)).collect();
    writer.write_image_data(&bytes).map_err(|e| e.to_string())
}

/// Lays out `images` (`n * 784` values) as a grid of `columns` with a 2-pixel border, and writes it.
pub fn write_grid(path: &Path, images: &[f32], columns: usize) -> Result<(), String> {
    let n = images.len() / PIXELS;
    let columns = columns.clamp(1, n.max(1));
    let rows = n.div_ceil(columns);
    const PAD: usize = 2;
    let (w, h) = (columns * (IMAGE_SIZE + PAD) + PAD, rows * (IMAGE_SIZE + PAD) + PAD);
    let mut grid = vec![-1.0f32; w * h];
    for i in 0..n {
        let (gx, gy) = (PAD + (i % columns) * (IMAGE_SIZE + PAD), PAD + (i / columns) * (IMAGE_SIZE + PAD));
        for y in 0..IMAGE_SIZE {
            let src = &images[i * PIXELS + y * IMAGE_SIZE..i * PIXELS + (y + 1) * IMAGE_SIZE];
            grid[(gy + y) * w + gx..(gy + y) * w + gx + IMAGE_SIZE].copy_from_slice(src);
        }
    }
    write_gray_png(path, &grid, w, h)
}
