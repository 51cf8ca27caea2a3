//! 2D convolution (f32, groups 1, no dilation) as row-wise im2col + one gemm per group of images,
//! and its two gradients the same way.
//!
//! The generic path (`conv::conv3d_impl`) converts the input to NHWC and builds its im2col tiles
//! one element at a time, and the default backward passes reuse it: the weight gradient is a
//! convolution whose kernel is the whole output map (`[C_in, B, H, W]` convolved with
//! `[C_out, B, H, W]`), the input gradient a transposed convolution. For the small-image networks
//! this backend trains (a U-Net on 28x28 digits: 3x3 kernels, 16-96 channels) those passes took
//! about a third of a training step, most of it outside gemm.
//!
//! Here every im2col row is one (input channel, kernel row, kernel column) and holds the shifted
//! input planes of a group of images side by side, so building it is contiguous copies (stride 1)
//! and the three passes are plain gemms over the same layout:
//!
//! - forward: `out[C_out, g*N] = W[C_out, K] x cols[K, g*N]`;
//! - weight gradient: `dW[C_out, K] += dY[C_out, g*N] x cols[K, g*N]^T`, summed over groups;
//! - input gradient: `dcols[K, g*N] = W^T x dY[C_out, g*N]`, then added back into the input
//!   planes (col2im),
//!
//! with `K = C_in * KH * KW`, `N = OH * OW` and `g` images per gemm (enough columns to keep gemm
//! busy on small maps, one image on large ones).

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::ops::conv::pad_asymmetric_conv_input;
use burn_backend::ops::{ConvOptions, ConvTransposeOptions, FloatTensorOps, ModuleOps};
use burn_backend::{DType, TensorMetadata};
use burn_std::{Bytes, Shape, Slice};

use crate::ops::mask::uninit_vec;
use crate::{Flex, FlexTensor, Layout};

/// Columns to aim for in one gemm: images are grouped until their output maps reach this.
const GEMM_COLUMNS: usize = 1024;

/// The shapes of one 2D convolution this module computes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    pad: [usize; 2],
    oh: usize,
    ow: usize,
}

impl Geometry {
    /// The geometry of `x` `[B, C_in, H, W]` convolved with `weight` `[C_out, C_in, KH, KW]`, or
    /// `None` for what this module does not compute: grouped or dilated convolutions, other
    /// dtypes, and empty or degenerate shapes.
    pub(crate) fn of(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<Self> {
        if x.dtype() != DType::F32 || weight.dtype() != DType::F32 || options.groups != 1 || options.dilation != [1, 1] {
            return None;
        }
        let (xs, ws) = (x.layout().shape(), weight.layout().shape());
        if xs.num_dims() != 4 || ws.num_dims() != 4 || xs[1] != ws[1] {
            return None;
        }
        let [(top, bottom), (left, right)] = options.padding;
        let (padded_h, padded_w) = (xs[2] + top + bottom, xs[3] + left + right);
        if ws[2] == 0 || ws[3] == 0 || padded_h < ws[2] || padded_w < ws[3] {
            return None;
        }
        let geo = Geometry {
            batch: xs[0],
            c_in: xs[1],
            h: xs[2],
            w: xs[3],
            c_out: ws[0],
            kh: ws[2],
            kw: ws[3],
            stride: options.stride,
            pad: [top, left],
            oh: (padded_h - ws[2]) / options.stride[0] + 1,
            ow: (padded_w - ws[3]) / options.stride[1] + 1,
        };
        geo.checked()
    }

    /// The convolution whose input gradient `x` (`[B, C_in_t, H_t, W_t]`) transposed-convolved
    /// with `weight` (`[C_in_t, C_out_t, KH, KW]`) is: that convolution maps
    /// `[B, C_out_t, H_o, W_o]` to `[B, C_in_t, H_t, W_t]`, `H_o` the transposed output's height.
    pub(crate) fn transposed(x: &FlexTensor, weight: &FlexTensor, options: &ConvTransposeOptions<2>) -> Option<Self> {
        if x.dtype() != DType::F32 || weight.dtype() != DType::F32 || options.groups != 1 || options.dilation != [1, 1] {
            return None;
        }
        let (xs, ws) = (x.layout().shape(), weight.layout().shape());
        if xs.num_dims() != 4 || ws.num_dims() != 4 || xs[1] != ws[0] {
            return None;
        }
        let size = |i: usize, d: usize| {
            let full = (xs[2 + d].checked_sub(1)?).checked_mul(options.stride[d])? + ws[2 + d] + options.padding_out[d];
            full.checked_sub(2 * options.padding[d]).filter(|_| i > 0)
        };
        let (h, w) = (size(xs[2], 0)?, size(xs[3], 1)?);
        let geo = Geometry {
            batch: xs[0],
            c_in: ws[1],
            h,
            w,
            c_out: ws[0],
            kh: ws[2],
            kw: ws[3],
            stride: options.stride,
            pad: options.padding,
            oh: xs[2],
            ow: xs[3],
        };
        if options.padding_out.iter().zip(options.stride).any(|(&o, s)| o >= s) {
            return None;
        }
        geo.checked()
    }

    /// `self`, unless a size is zero or a buffer's length would not fit in usize.
    fn checked(self) -> Option<Self> {
        let sizes = [self.batch, self.c_in, self.c_out, self.k(), self.n(), self.h * self.w];
        if sizes.contains(&0) {
            return None;
        }
        self.batch.checked_mul(self.c_out.max(self.c_in))?.checked_mul(self.n().max(self.h * self.w))?;
        self.k().checked_mul(self.group() * self.n())?;
        Some(self)
    }

    /// A 1x1 convolution with stride 1 and no padding, which `conv` runs straight on gemm already.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.pad == [0, 0]
    }

    /// `K`: rows of im2col.
    fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// `N`: output pixels per image.
    fn n(&self) -> usize {
        self.oh * self.ow
    }

    /// Images per gemm.
    fn group(&self) -> usize {
        (GEMM_COLUMNS / self.n()).clamp(1, self.batch)
    }

    /// The output columns `ow` whose input column `ow * stride + j - pad` lies inside the image.
    fn valid_columns(&self, j: usize) -> (usize, usize) {
        let (s, p) = (self.stride[1], self.pad[1]);
        let first = p.saturating_sub(j).div_ceil(s);
        // Largest ow with ow * s + j < w + p.
        let end = if self.w + p > j { ((self.w + p - j - 1) / s + 1).min(self.ow) } else { 0 };
        (first, end.max(first))
    }

    /// The input row of output row `oh` under kernel row `i`, if inside the image.
    fn input_row(&self, oh: usize, i: usize) -> Option<usize> {
        (oh * self.stride[0] + i).checked_sub(self.pad[0]).filter(|&r| r < self.h)
    }
}

/// Fills `cols` (`[K, g*N]`) with the patches of images `b0..b0+g` of `x` (`[B, C_in, H, W]`).
fn im2col(x: &[f32], geo: &Geometry, b0: usize, g: usize, cols: &mut [f32]) {
    let (n, row_len) = (geo.n(), g * geo.n());
    let (s, p) = (geo.stride[1], geo.pad[1]);
    for c in 0..geo.c_in {
        for i in 0..geo.kh {
            for j in 0..geo.kw {
                let row = (c * geo.kh + i) * geo.kw + j;
                let (first, end) = geo.valid_columns(j);
                for bi in 0..g {
                    let plane = &x[((b0 + bi) * geo.c_in + c) * geo.h * geo.w..][..geo.h * geo.w];
                    let out = &mut cols[row * row_len + bi * n..][..n];
                    for oh in 0..geo.oh {
                        let dst = &mut out[oh * geo.ow..][..geo.ow];
                        let Some(ih) = geo.input_row(oh, i) else {
                            dst.fill(0.0);
                            continue;
                        };
                        let src = &plane[ih * geo.w..][..geo.w];
                        dst[..first].fill(0.0);
                        dst[end..].fill(0.0);
                        if s == 1 {
                            let start = first + j - p;
                            dst[first..end].copy_from_slice(&src[start..start + end - first]);
                        } else {
                            for (ow, d) in dst.iter_mut().enumerate().take(end).skip(first) {
                                *d = src[ow * s + j - p];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds `cols` (`[K, g*N]`) back into the input planes of images `b0..b0+g` of `dx`
/// (`[B, C_in, H, W]`): the adjoint of [`im2col`].
fn col2im(cols: &[f32], geo: &Geometry, b0: usize, g: usize, dx: &mut [f32]) {
    let (n, row_len) = (geo.n(), g * geo.n());
    let (s, p) = (geo.stride[1], geo.pad[1]);
    for c in 0..geo.c_in {
        for i in 0..geo.kh {
            for j in 0..geo.kw {
                let row = (c * geo.kh + i) * geo.kw + j;
                let (first, end) = geo.valid_columns(j);
                for bi in 0..g {
                    let plane = &mut dx[((b0 + bi) * geo.c_in + c) * geo.h * geo.w..][..geo.h * geo.w];
                    let src_rows = &cols[row * row_len + bi * n..][..n];
                    for oh in 0..geo.oh {
                        let Some(ih) = geo.input_row(oh, i) else { continue };
                        let src = &src_rows[oh * geo.ow..][..geo.ow];
                        let dst = &mut plane[ih * geo.w..][..geo.w];
                        if s == 1 {
                            let start = first + j - p;
                            for (d, v) in dst[start..start + end - first].iter_mut().zip(&src[first..end]) {
                                *d += v;
                            }
                        } else {
                            for ow in first..end {
                                dst[ow * s + j - p] += src[ow];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `dst[m, n] (+)= lhs[m, k] x rhs[k, n]`, every matrix given by its row and column strides.
#[allow(clippy::too_many_arguments)]
fn gemm(m: usize, n: usize, k: usize, dst: &mut [f32], dst_rs: usize, accumulate: bool, lhs: &[f32], lhs_rs: usize, lhs_cs: usize, rhs: &[f32], rhs_rs: usize, rhs_cs: usize) {
    // The slices cover every element the strides reach.
    assert!(m == 0 || n == 0 || dst.len() > (m - 1) * dst_rs + (n - 1));
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(k == 0 || n == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every access inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The output gradient `dy` (`[B, C_out, N]`) of images `b0..b0+g` as `[C_out, g*N]`: a slice of
/// `dy` for one image, else gathered into `buffer` (at least `C_out * g * N` long).
fn output_grad_group<'a>(dy: &'a [f32], geo: &Geometry, b0: usize, g: usize, buffer: &'a mut [f32]) -> &'a [f32] {
    let n = geo.n();
    if g == 1 {
        return &dy[b0 * geo.c_out * n..][..geo.c_out * n];
    }
    let out = &mut buffer[..geo.c_out * g * n];
    for co in 0..geo.c_out {
        for bi in 0..g {
            out[co * g * n + bi * n..][..n].copy_from_slice(&dy[((b0 + bi) * geo.c_out + co) * n..][..n]);
        }
    }
    out
}

/// The image groups of a batch: `(first image, images)`.
fn groups(geo: &Geometry) -> impl Iterator<Item = (usize, usize)> {
    let g = geo.group();
    (0..geo.batch).step_by(g).map(move |b0| (b0, g.min(geo.batch - b0)))
}

/// Adds one bias per channel to `[B, C, spatial]` values.
fn add_bias(values: &mut [f32], bias: FlexTensor, spatial: usize) {
    let bias = bias.to_contiguous();
    let bias: &[f32] = bias.storage();
    for (map, &b) in values.chunks_exact_mut(spatial).zip(bias.iter().cycle()) {
        map.iter_mut().for_each(|v| *v += b);
    }
}

fn contiguous_f32(t: FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

fn tensor(data: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(shape.to_vec())), DType::F32)
}

/// The convolution: `[B, C_out, OH, OW]`.
pub(crate) fn forward(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, geo: Geometry) -> FlexTensor {
    let (x, weight) = (contiguous_f32(x), contiguous_f32(weight));
    let (xd, wd): (&[f32], &[f32]) = (x.storage(), weight.storage());
    let (k, n) = (geo.k(), geo.n());
    // Written in full: by gemm (one image per group) or the row copies (several).
    let mut out = uninit_vec::<f32>(geo.batch * geo.c_out * n);
    // Written in full by im2col, then by gemm.
    let mut cols = uninit_vec::<f32>(k * geo.group() * n);
    let mut tmp = if geo.group() > 1 { uninit_vec::<f32>(geo.c_out * geo.group() * n) } else { Vec::new() };
    for (b0, g) in groups(&geo) {
        let cols = &mut cols[..k * g * n];
        im2col(xd, &geo, b0, g, cols);
        if g == 1 {
            gemm(geo.c_out, n, k, &mut out[b0 * geo.c_out * n..][..geo.c_out * n], n, false, wd, k, 1, cols, n, 1);
        } else {
            let tmp = &mut tmp[..geo.c_out * g * n];
            gemm(geo.c_out, g * n, k, tmp, g * n, false, wd, k, 1, cols, g * n, 1);
            for bi in 0..g {
                for co in 0..geo.c_out {
                    out[((b0 + bi) * geo.c_out + co) * n..][..n].copy_from_slice(&tmp[co * g * n + bi * n..][..n]);
                }
            }
        }
    }
    if let Some(bias) = bias {
        add_bias(&mut out, bias, n);
    }
    tensor(out, [geo.batch, geo.c_out, geo.oh, geo.ow])
}

/// The gradient of the weight, `[C_out, C_in, KH, KW]`, from the output's gradient `dy`.
pub(crate) fn weight_grad(x: FlexTensor, dy: FlexTensor, geo: Geometry) -> FlexTensor {
    let (x, dy) = (contiguous_f32(x), contiguous_f32(dy));
    let (xd, dyd): (&[f32], &[f32]) = (x.storage(), dy.storage());
    let (k, n) = (geo.k(), geo.n());
    // Written in full by the first group's gemm (without `read_dst`), then accumulated.
    let mut dw = uninit_vec::<f32>(geo.c_out * k);
    // Written in full by im2col and by the gather of the output gradient.
    let mut cols = uninit_vec::<f32>(k * geo.group() * n);
    let mut gathered = if geo.group() > 1 { uninit_vec::<f32>(geo.c_out * geo.group() * n) } else { Vec::new() };
    for (i, (b0, g)) in groups(&geo).enumerate() {
        let cols = &mut cols[..k * g * n];
        im2col(xd, &geo, b0, g, cols);
        let dy_group = output_grad_group(dyd, &geo, b0, g, &mut gathered);
        // dW[C_out, K] += dY[C_out, gN] x cols^T (cols read as [gN, K]: row stride 1, column stride gN).
        gemm(geo.c_out, k, g * n, &mut dw, k, i > 0, dy_group, g * n, 1, cols, 1, g * n);
    }
    tensor(dw, [geo.c_out, geo.c_in, geo.kh, geo.kw])
}

/// The gradient of the input, `[B, C_in, H, W]`, from the output's gradient `dy`: also the
/// transposed convolution of `dy` (with `geo` from [`Geometry::transposed`]), plus `bias`.
pub(crate) fn input_grad(weight: FlexTensor, dy: FlexTensor, bias: Option<FlexTensor>, geo: Geometry) -> FlexTensor {
    let (weight, dy) = (contiguous_f32(weight), contiguous_f32(dy));
    let (wd, dyd): (&[f32], &[f32]) = (weight.storage(), dy.storage());
    let (k, n) = (geo.k(), geo.n());
    let mut dx = vec![0.0f32; geo.batch * geo.c_in * geo.h * geo.w];
    // Written in full by gemm (without `read_dst`) and by the gather of the output gradient.
    let mut dcols = uninit_vec::<f32>(k * geo.group() * n);
    let mut gathered = if geo.group() > 1 { uninit_vec::<f32>(geo.c_out * geo.group() * n) } else { Vec::new() };
    for (b0, g) in groups(&geo) {
        let dy_group = output_grad_group(dyd, &geo, b0, g, &mut gathered);
        let dcols = &mut dcols[..k * g * n];
        // dcols[K, gN] = W^T (W read as [K, C_out]: row stride 1, column stride K) x dY[C_out, gN].
        gemm(k, g * n, geo.c_out, dcols, g * n, false, wd, 1, k, dy_group, g * n, 1);
        col2im(dcols, &geo, b0, g, &mut dx);
    }
    if let Some(bias) = bias {
        add_bias(&mut dx, bias, geo.h * geo.w);
    }
    tensor(dx, [geo.batch, geo.c_in, geo.h, geo.w])
}

/// burn's default weight gradient (`burn_backend`'s `conv2d_weight_backward`), for what
/// [`weight_grad`] does not compute (grouped or dilated convolutions, other dtypes): a convolution
/// of the input with the output's gradient, batch and channels swapped.
pub(crate) fn generic_weight_grad(x: FlexTensor, weight: FlexTensor, output_grad: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
    let (x, options) = pad_asymmetric_conv_input::<Flex, 2>(x, options);
    let weight_shape = weight.shape();
    let [channels_out, increment_ci, kernel_1, kernel_2] = weight_shape.dims();
    let increment_co = channels_out / options.groups;
    let x_swapped = Flex::float_swap_dims(x, 0, 1);
    let grad_swapped = Flex::float_swap_dims(output_grad, 0, 1);
    let swapped_options = ConvOptions::new(options.dilation, options.padding_begin(), options.stride, 1);
    let per_group = |x: FlexTensor, grad: FlexTensor| {
        let grad = Flex::float_swap_dims(Flex::conv2d(x, grad, None, swapped_options.clone()), 0, 1);
        let [co, ci, k1, k2] = grad.shape().dims();
        if (k1, k2) == (kernel_1, kernel_2) { grad } else { Flex::float_slice(grad, &[Slice::from(0..co), Slice::from(0..ci), Slice::from(0..kernel_1), Slice::from(0..kernel_2)]) }
    };
    if options.groups == 1 {
        return per_group(x_swapped, grad_swapped);
    }
    let mut weight_grad = Flex::float_zeros(weight_shape, &weight.device(), weight.dtype().into());
    for g in 0..options.groups {
        let (ci, co) = (g * increment_ci..(g + 1) * increment_ci, g * increment_co..(g + 1) * increment_co);
        let x = Flex::float_slice(x_swapped.clone(), &[Slice::from(ci)]);
        let grad = Flex::float_slice(grad_swapped.clone(), &[Slice::from(co.clone())]);
        let ranges = [Slice::from(co), Slice::from(0..increment_ci), Slice::from(0..kernel_1), Slice::from(0..kernel_2)];
        weight_grad = Flex::float_slice_assign(weight_grad, &ranges, per_group(x, grad));
    }
    weight_grad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, in f64.
    fn reference(x: &[f32], w: &[f32], geo: &Geometry) -> Vec<f64> {
        let mut out = vec![0.0f64; geo.batch * geo.c_out * geo.n()];
        for b in 0..geo.batch {
            for co in 0..geo.c_out {
                for oh in 0..geo.oh {
                    for ow in 0..geo.ow {
                        let mut sum = 0.0f64;
                        for c in 0..geo.c_in {
                            for i in 0..geo.kh {
                                for j in 0..geo.kw {
                                    let ih = (oh * geo.stride[0] + i) as isize - geo.pad[0] as isize;
                                    let iw = (ow * geo.stride[1] + j) as isize - geo.pad[1] as isize;
                                    if ih >= 0 && iw >= 0 && (ih as usize) < geo.h && (iw as usize) < geo.w {
                                        let xv = x[((b * geo.c_in + c) * geo.h + ih as usize) * geo.w + iw as usize];
                                        let wv = w[((co * geo.c_in + c) * geo.kh + i) * geo.kw + j];
                                        sum += f64::from(xv) * f64::from(wv);
                                    }
                                }
                            }
                        }
                        out[((b * geo.c_out + co) * geo.oh + oh) * geo.ow + ow] = sum;
                    }
                }
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((f64::from(*g) - w).abs() <= 1e-4 * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
        }
    }

    /// Forward against the definition, and both gradients against the adjoint identities
    /// `<conv(x, w), dy> = <x, dx> = <w, dw>` checked element by element through basis vectors
    /// of the definition: `dx[e] = <conv(e_x, w), dy>`, `dw[e] = <conv(x, e_w), dy>`.
    #[test]
    fn forward_and_gradients_match_the_definition() {
        // (batch, c_in, h, w, c_out, kh, kw, stride, padding (top, bottom, left, right))
        let cases = [
            (2, 3, 7, 6, 4, 3, 3, [1, 1], [(1, 1), (1, 1)]),
            (3, 2, 8, 8, 3, 3, 3, [2, 2], [(1, 1), (1, 1)]),
            (2, 2, 5, 7, 2, 1, 1, [1, 1], [(0, 0), (0, 0)]),
            (1, 2, 6, 5, 3, 2, 3, [1, 2], [(0, 1), (2, 0)]),
            (40, 1, 3, 3, 2, 3, 3, [1, 1], [(1, 1), (1, 1)]), // many images per gemm, uneven groups
            (2, 1, 4, 4, 1, 5, 5, [1, 1], [(2, 2), (2, 2)]),
        ];
        for (case, (batch, c_in, h, w, c_out, kh, kw, stride, padding)) in cases.into_iter().enumerate() {
            let options = ConvOptions { stride, padding, dilation: [1, 1], groups: 1 };
            let x = values(batch * c_in * h * w, 1 + case as u32);
            let wt = values(c_out * c_in * kh * kw, 100 + case as u32);
            let xt = tensor(x.clone(), [batch, c_in, h, w]);
            let wtt = tensor(wt.clone(), [c_out, c_in, kh, kw]);
            let geo = Geometry::of(&xt, &wtt, &options).expect("supported");
            let bias = values(c_out, 7);
            let out = forward(xt.clone(), wtt.clone(), Some(tensor(bias.clone(), [1, 1, 1, c_out])), geo);
            let mut want = reference(&x, &wt, &geo);
            for (i, v) in want.iter_mut().enumerate() {
                *v += f64::from(bias[(i / geo.n()) % c_out]);
            }
            close(out.storage(), &want, &format!("case {case} forward"));

            let dy = values(batch * c_out * geo.n(), 200 + case as u32);
            let dyt = tensor(dy.clone(), [batch, c_out, geo.oh, geo.ow]);
            let dot = |out: &[f64]| out.iter().zip(&dy).map(|(o, d)| o * f64::from(*d)).sum::<f64>();
            let dx = input_grad(wtt.clone(), dyt.clone(), None, geo);
            let want_dx: Vec<f64> = (0..x.len())
                .map(|e| {
                    let mut basis = vec![0.0f32; x.len()];
                    basis[e] = 1.0;
                    dot(&reference(&basis, &wt, &geo))
                })
                .collect();
            close(dx.storage(), &want_dx, &format!("case {case} input gradient"));
            let dw = weight_grad(xt, dyt, geo);
            let want_dw: Vec<f64> = (0..wt.len())
                .map(|e| {
                    let mut basis = vec![0.0f32; wt.len()];
                    basis[e] = 1.0;
                    dot(&reference(&x, &basis, &geo))
                })
                .collect();
            close(dw.storage(), &want_dw, &format!("case {case} weight gradient"));
        }
    }

    #[test]
    fn grouped_dilated_and_other_dtypes_are_left_to_the_generic_path() {
        let x = tensor(vec![0.0; 2 * 4 * 5 * 5], [2, 4, 5, 5]);
        let w = tensor(vec![0.0; 4 * 2 * 3 * 3], [4, 2, 3, 3]);
        assert!(Geometry::of(&x, &w, &ConvOptions { stride: [1, 1], padding: [(1, 1), (1, 1)], dilation: [1, 1], groups: 2 }).is_none());
        let w = tensor(vec![0.0; 4 * 4 * 3 * 3], [4, 4, 3, 3]);
        assert!(Geometry::of(&x, &w, &ConvOptions { stride: [1, 1], padding: [(1, 1), (1, 1)], dilation: [2, 2], groups: 1 }).is_none());
        assert!(Geometry::of(&x, &w, &ConvOptions { stride: [1, 1], padding: [(1, 1), (1, 1)], dilation: [1, 1], groups: 1 }).is_some());
    }
}
