//! Simple statistics of the pixels, which say in plain terms what a feature distance hides:
//! how much of an image is neither background nor ink (speckle and blur raise it), and how thick
//! the strokes are. They are read beside the real digits' values, not as a score.

use crate::sampling::PIXELS;
use crate::unet::IMAGE_SIZE;

/// A pixel (in [-1, 1]) is mid-grey when it is in this range: neither background (-1) nor ink (1).
pub const MID_GREY: (f32, f32) = (-0.5, 0.5);

/// The statistics of a set of images, each the mean over the images.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PixelStats {
    /// Share of pixels that are mid-grey.
    pub mid_grey: f64,
    /// Stroke width in pixels: `2 * ink area / ink perimeter` (a stroke of length L and width w
    /// has area L w and perimeter about 2 L), ink being the pixels above 0.
    pub stroke_width: f64,
}

/// The statistics of `images` (`n * 784` values in [-1, 1]).
pub fn pixel_stats(images: &[f32]) -> PixelStats {
    let n = images.len() / PIXELS;
    let mut sum = PixelStats::default();
    for image in images.chunks_exact(PIXELS) {
        sum.mid_grey += image.iter().filter(|&&v| v > MID_GREY.0 && v < MID_GREY.1).count() as f64 / PIXELS as f64;
        sum.stroke_width += stroke_width(image);
    }
    PixelStats { mid_grey: sum.mid_grey / n as f64, stroke_width: sum.stroke_width / n as f64 }
}

/// `2 * area / perimeter` of the ink (pixels above 0) of one image; 0 for an empty image. The
/// perimeter counts the sides of ink pixels that face a non-ink pixel or the border.
fn stroke_width(image: &[f32]) -> f64 {
    let s = IMAGE_SIZE as isize;
    let ink = |r: isize, c: isize| (0..s).contains(&r) && (0..s).contains(&c) && image[(r * s + c) as usize] > 0.0;
    let (mut area, mut perimeter) = (0usize, 0usize);
    for r in 0..s {
        for c in 0..s {
            if ink(r, c) {
                area += 1;
                perimeter += [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)].iter().filter(|&&(rr, cc)| !ink(rr, cc)).count();
            }
        }
    }
    if perimeter == 0 { 0.0 } else { 2.0 * area as f64 / perimeter as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(ink: impl Fn(usize, usize) -> f32) -> Vec<f32> {
        (0..PIXELS).map(|i| ink(i / IMAGE_SIZE, i % IMAGE_SIZE)).collect()
    }

    #[test]
    fn a_bar_of_width_w_measures_about_w() {
        for w in [1usize, 2, 3, 4] {
            let bar = image(|r, c| if (4..24).contains(&r) && (10..10 + w).contains(&c) { 1.0 } else { -1.0 });
            let s = pixel_stats(&bar);
            // 20 x w: area 20 w, perimeter 40 + 2 w.
            assert!((s.stroke_width - 40.0 * w as f64 / (40.0 + 2.0 * w as f64)).abs() < 1e-12, "{w}: {}", s.stroke_width);
            assert_eq!(s.mid_grey, 0.0);
        }
    }

    #[test]
    fn grey_pixels_count_and_empty_images_have_no_strokes() {
        let grey = image(|r, _| if r < 7 { 0.0 } else { -1.0 });
        let s = pixel_stats(&grey);
        assert_eq!(s.mid_grey, 0.25);
        assert_eq!(s.stroke_width, 0.0);
    }
}
