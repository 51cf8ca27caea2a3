//! The network `F` behind every model: a small U-Net for 28x28 single-channel images.
//!
//! DDPM/EDM-style (Ho et al. 2020; Karras et al. 2022, "DDPM++"), sized by [`UNetConfig`] so a
//! large teacher and a small student share this code:
//!
//! ```text
//! c_noise [B] -> sinusoidal features -> MLP -> (+ class embedding) = emb [B, E]
//! x [B, 1, 28, 28] -> stem conv -> [B, C0, 28, 28]
//!   level 0 (28x28, C0): res_blocks x ResBlock ------------------------------ skips
//!   down (stride-2 conv) -> level 1 (14x14, C1): res_blocks x ResBlock ----- skips
//!   down -> level 2 (7x7, C2) ...                                             |
//!   middle: ResBlock, [self-attention], ResBlock at the lowest resolution      |
//!   up path mirrors the down path, each ResBlock taking [h, skip] concatenated <
//! -> group norm, SiLU, conv -> [B, 1, 28, 28]
//! ```
//! Every ResBlock adds the embedding as a per-channel scale and shift after its first conv.
//! Resolutions must stay divisible by 2 between levels: 28 -> 14 -> 7 allows three levels.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::seeded_noise::{SeededNoise, Stream};

/// Class labels, one per image: `0..=9` for a digit, [`UNCONDITIONAL`] for none.
pub type Labels = [usize];

/// The label that asks for any digit (classifier-free training drops labels to this one).
pub const UNCONDITIONAL: usize = 10;

/// Image side the networks work on (MNIST digits).
pub const IMAGE_SIZE: usize = 28;

/// Size of a U-Net; serialised into every weights manifest.
#[derive(Config, Debug, PartialEq)]
pub struct UNetConfig {
    /// Channels at the first (full) resolution.
    #[config(default = 32)]
    pub base_channels: usize,
    /// Channel multiplier per resolution level; its length is the number of levels (at most 3 for 28x28).
    #[config(default = "vec![1, 2, 2]")]
    pub channel_mult: Vec<usize>,
    /// Residual blocks per level on the way down (the way up has one more, for the extra skip).
    #[config(default = 1)]
    pub res_blocks: usize,
    /// Self-attention in the middle, at the lowest resolution.
    #[config(default = true)]
    pub attention: bool,
    /// Attention heads (must divide the lowest-resolution channel count).
    #[config(default = 1)]
    pub attention_heads: usize,
    /// Groups of every group norm (must divide every channel count).
    #[config(default = 8)]
    pub norm_groups: usize,
    /// Dropout probability inside residual blocks (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Number of classes; the embedding table has one more row for [`UNCONDITIONAL`]. 0: no labels.
    #[config(default = 10)]
    pub num_classes: usize,
}

impl UNetConfig {
    /// Checks the sizes before any tensor is made, so a bad manifest gives an error, not a panic.
    pub fn validate(&self) -> Result<(), String> {
        let levels = self.channel_mult.len();
        if levels == 0 || levels > 3 {
            return Err(format!("channel_mult needs 1 to 3 levels for 28x28 images, got {levels}"));
        }
        if self.channel_mult[0] != 1 {
            // The stem and the output head work at base_channels, the first level's width.
            return Err(format!("channel_mult must start with 1 (the first level has base_channels), got {:?}", self.channel_mult));
        }
        if self.base_channels == 0 || self.channel_mult.contains(&0) || self.res_blocks == 0 {
            return Err("base_channels, res_blocks and every channel_mult must be positive".into());
        }
        if self.base_channels > 256 || self.channel_mult.iter().any(|&m| m > 8) || self.res_blocks > 4 {
            return Err("network too large for this crate (base_channels <= 256, mult <= 8, res_blocks <= 4)".into());
        }
        for m in &self.channel_mult {
            if self.norm_groups == 0 || (self.base_channels * m) % self.norm_groups != 0 {
                return Err(format!(
                    "norm_groups {} must divide every channel count ({} x {m})",
                    self.norm_groups, self.base_channels
                ));
            }
        }
        let lowest = self.base_channels * self.channel_mult[levels - 1];
        if self.attention && (self.attention_heads == 0 || lowest % self.attention_heads != 0) {
            return Err(format!("attention_heads {} must divide {lowest}", self.attention_heads));
        }
        if self.num_classes != 0 && self.num_classes != 10 {
            return Err(format!("num_classes must be 10 (the digits) or 0 (no labels), got {}", self.num_classes));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }

    fn emb_channels(&self) -> usize {
        self.base_channels * 4
    }

    /// Builds a randomly initialised network. Panics on an invalid config: call
    /// [`validate`](Self::validate) first with untrusted input.
    pub fn init(&self, device: &Device) -> UNet {
        self.validate().expect("invalid UNetConfig");
        let emb = self.emb_channels();
        let groups = self.norm_groups;
        let channels: Vec<usize> = self.channel_mult.iter().map(|m| m * self.base_channels).collect();
        let mut block_index = 0;
        let mut res_block = |c_in: usize, c_out: usize| {
            block_index += 1;
            ResBlock::new(c_in, c_out, emb, groups, self.dropout, block_index)
        };

        // Down path: remember the channel count of every skip it pushes.
        let mut skips = vec![self.base_channels];
        let mut down_blocks = Vec::new();
        let mut downsamples = Vec::new();
        let mut ch = self.base_channels;
        for (level, &c) in channels.iter().enumerate() {
            for _ in 0..self.res_blocks {
                down_blocks.push(res_block(ch, c));
                ch = c;
                skips.push(ch);
            }
            if level + 1 < channels.len() {
                downsamples.push(conv(ch, ch, 3, 2, device));
                skips.push(ch);
            }
        }

        let mid_in = res_block(ch, ch);
        let attention = self.attention.then(|| Attention::new(ch, self.attention_heads, groups, device));
        let mid_out = res_block(ch, ch);

        // Up path: res_blocks + 1 blocks per level, each eating one skip.
        let mut up_blocks = Vec::new();
        let mut upsamples = Vec::new();
        for (level, &c) in channels.iter().enumerate().rev() {
            for _ in 0..=self.res_blocks {
                let skip = skips.pop().expect("one skip per up block");
                up_blocks.push(res_block(ch + skip, c));
                ch = c;
            }
            if level > 0 {
                upsamples.push(conv(ch, ch, 3, 1, device));
            }
        }

        let init_block = |b: ResBlockPlan| b.init(device);
        UNet {
            feature_freqs: FOURIER_FEATURES,
            emb_in: LinearConfig::new(FOURIER_FEATURES, emb).init(device),
            emb_out: LinearConfig::new(emb, emb).init(device),
            class_emb: (self.num_classes > 0)
                .then(|| EmbeddingConfig::new(self.num_classes + 1, emb).init(device)),
            num_classes: self.num_classes,
            stem: conv(1, self.base_channels, 3, 1, device),
            down_blocks: down_blocks.into_iter().map(init_block).collect(),
            downsamples,
            mid_in: mid_in.init(device),
            attention,
            mid_out: mid_out.init(device),
            up_blocks: up_blocks.into_iter().map(init_block).collect(),
            upsamples,
            out_norm: GroupNormConfig::new(groups, self.base_channels).init(device),
            out_conv: conv(self.base_channels, 1, 3, 1, device),
            res_blocks: self.res_blocks,
            levels: channels.len(),
        }
    }
}

/// Number of sinusoidal features of the noise level.
const FOURIER_FEATURES: usize = 64;

fn conv(c_in: usize, c_out: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(kernel / 2, kernel / 2, kernel / 2, kernel / 2))
        .init(device)
}

/// The noise-conditioned U-Net `F(x, c_noise, label)`.
#[derive(Module, Debug)]
pub struct UNet {
    feature_freqs: usize,
    emb_in: Linear,
    emb_out: Linear,
    class_emb: Option<Embedding>,
    num_classes: usize,
    stem: Conv2d,
    down_blocks: Vec<ResBlock>,
    downsamples: Vec<Conv2d>,
    mid_in: ResBlock,
    attention: Option<Attention>,
    mid_out: ResBlock,
    up_blocks: Vec<ResBlock>,
    upsamples: Vec<Conv2d>,
    out_norm: GroupNorm,
    out_conv: Conv2d,
    res_blocks: usize,
    levels: usize,
}

/// Where a training forward pass draws its dropout masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropoutMasks {
    /// The step's seed (both branches of a consistency loss share it).
    pub seed: u64,
    /// Position of the first image of this forward pass in the step's batch: a batch split into
    /// shards (one per thread) draws the same masks as the whole batch.
    pub first_image: usize,
}

impl UNet {
    /// `x`: `[B, 1, 28, 28]` (already scaled by `c_in`), `c_noise`: `[B]`, `labels`: `B` labels.
    /// `dropout`: `None` at inference; with `Some(masks)`, dropout masks are drawn from the
    /// portable generator under `masks.seed`, so two calls with one seed drop the same units, and
    /// a shard of a batch (`masks.first_image`) drops the units the whole batch would.
    /// Returns `[B, 1, 28, 28]`.
    pub fn forward(
        &self,
        x: Tensor<4>,
        c_noise: Tensor<1>,
        labels: &Labels,
        dropout: Option<DropoutMasks>,
    ) -> Tensor<4> {
        let device = x.device();
        let emb = self.embed(c_noise, labels, &device); // [B, E]

        let mut h = self.stem.forward(x); // [B, C0, 28, 28]
        let mut skips = vec![h.clone()];
        let mut blocks = self.down_blocks.iter();
        for level in 0..self.levels {
            for block in blocks.by_ref().take(self.res_blocks) {
                h = block.forward(h, &emb, dropout);
                skips.push(h.clone());
            }
            if let Some(down) = self.downsamples.get(level) {
                h = down.forward(h); // halves H and W
                skips.push(h.clone());
            }
        }

        h = self.mid_in.forward(h, &emb, dropout);
        if let Some(attention) = &self.attention {
            h = attention.forward(h);
        }
        h = self.mid_out.forward(h, &emb, dropout);

        let mut blocks = self.up_blocks.iter();
        let mut upsamples = self.upsamples.iter();
        for level in (0..self.levels).rev() {
            for block in blocks.by_ref().take(self.res_blocks + 1) {
                let skip = skips.pop().expect("one skip per up block");
                h = block.forward(Tensor::cat(vec![h, skip], 1), &emb, dropout);
            }
            if level > 0 {
                let up = upsamples.next().expect("one upsample per level above 0");
                h = up.forward(upsample_nearest(h)); // doubles H and W
            }
        }

        self.out_conv.forward(silu(self.out_norm.forward(h)))
    }

    /// Noise-level (and class) embedding: `[B] -> [B, E]`.
    fn embed(&self, c_noise: Tensor<1>, labels: &Labels, device: &Device) -> Tensor<2> {
        let batch = c_noise.dims()[0];
        // Frequencies from 1 to 1000 on a log scale, applied to 250 c_noise = 62.5 ln(sigma), so
        // that nearby levels (e.g. sigma 0.002 vs 0.0025) get distinguishable features.
        let half = self.feature_freqs / 2;
        let freqs: Vec<f32> = (0..half)
            .map(|i| (250.0 * (1000f64.ln() * -(i as f64) / half as f64).exp()) as f32)
            .collect();
        let freqs = Tensor::<1>::from_data(TensorData::new(freqs, [half]), device).reshape([1, half]);
        let angles = c_noise.reshape([batch, 1]) * freqs; // [B, half]
        let features = Tensor::cat(vec![angles.clone().cos(), angles.sin()], 1); // [B, 2 half]
        let mut emb = self.emb_out.forward(silu(self.emb_in.forward(features)));
        if let Some(class_emb) = &self.class_emb {
            let ids: Vec<i64> = labels
                .iter()
                .map(|&l| l.min(self.num_classes) as i64)
                .collect();
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [batch, 1]), device);
            let class = class_emb.forward(ids).reshape(emb.dims()); // [B, 1, E] -> [B, E]
            emb = emb + class;
        }
        emb
    }
}

/// `[B, C, H, W] -> [B, C, 2H, 2W]`, each pixel repeated in a 2x2 square.
fn upsample_nearest(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .reshape([b, c, 2 * h, 2 * w])
}

/// Sizes of one residual block before its parameters exist.
struct ResBlockPlan {
    c_in: usize,
    c_out: usize,
    emb: usize,
    groups: usize,
    dropout: f64,
    index: usize,
}

impl ResBlock {
    fn new(c_in: usize, c_out: usize, emb: usize, groups: usize, dropout: f64, index: usize) -> ResBlockPlan {
        ResBlockPlan { c_in, c_out, emb, groups, dropout, index }
    }
}

impl ResBlockPlan {
    fn init(self, device: &Device) -> ResBlock {
        ResBlock {
            norm1: GroupNormConfig::new(self.groups, self.c_in).init(device),
            conv1: conv(self.c_in, self.c_out, 3, 1, device),
            emb_proj: LinearConfig::new(self.emb, 2 * self.c_out).init(device),
            norm2: GroupNormConfig::new(self.groups, self.c_out).init(device),
            conv2: conv(self.c_out, self.c_out, 3, 1, device),
            skip: (self.c_in != self.c_out).then(|| conv(self.c_in, self.c_out, 1, 1, device)),
            dropout: self.dropout,
            index: self.index,
        }
    }
}

/// `GN -> SiLU -> conv -> scale/shift by emb -> SiLU -> dropout -> conv`, plus a skip, times sqrt(1/2).
#[derive(Module, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    emb_proj: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
    dropout: f64,
    index: usize,
}

impl ResBlock {
    /// `x`: `[B, C_in, H, W]`, `emb`: `[B, E]` -> `[B, C_out, H, W]`.
    fn forward(&self, x: Tensor<4>, emb: &Tensor<2>, dropout: Option<DropoutMasks>) -> Tensor<4> {
        let h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        let [b, c, _, _] = h.dims();
        let params = self.emb_proj.forward(silu(emb.clone())).reshape([b, 2 * c, 1, 1]);
        let scale = params.clone().narrow(1, 0, c);
        let shift = params.narrow(1, c, c);
        let h = self.norm2.forward(h) * (scale + 1.0) + shift;
        let mut h = silu(h);
        if let (Some(masks), true) = (dropout, self.dropout > 0.0) {
            h = self.drop(h, masks);
        }
        let h = self.conv2.forward(h);
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        (skip + h) * core::f32::consts::FRAC_1_SQRT_2
    }

    /// Inverted dropout with a mask from the portable generator (stream `Dropout`, step = block
    /// index, element = the unit's place in the whole batch).
    fn drop(&self, h: Tensor<4>, masks: DropoutMasks) -> Tensor<4> {
        let dims = h.dims();
        let keep = 1.0 - self.dropout;
        let noise = SeededNoise::new(masks.seed, Stream::Dropout);
        let scale = (1.0 / keep) as f32;
        let per_image: usize = dims[1..].iter().product();
        let first = (masks.first_image * per_image) as u64;
        let mask: Vec<f32> = noise
            .bernoulli(self.index as u32, first, dims.iter().product(), keep)
            .into_iter()
            .map(|kept| if kept { scale } else { 0.0 })
            .collect();
        let mask = Tensor::<4>::from_data(TensorData::new(mask, dims), &h.device());
        h * mask
    }
}

/// Multi-head self-attention over the pixels of a small feature map, with a residual.
#[derive(Module, Debug)]
pub struct Attention {
    norm: GroupNorm,
    qkv: Conv2d,
    proj: Conv2d,
    heads: usize,
}

impl Attention {
    fn new(channels: usize, heads: usize, groups: usize, device: &Device) -> Self {
        Self {
            norm: GroupNormConfig::new(groups, channels).init(device),
            qkv: conv(channels, 3 * channels, 1, 1, device),
            proj: conv(channels, channels, 1, 1, device),
            heads,
        }
    }

    /// `[B, C, H, W] -> [B, C, H, W]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let head_dim = c / self.heads;
        let qkv = self.qkv.forward(self.norm.forward(x.clone())); // [B, 3C, H, W]
        let qkv = qkv.reshape([b, 3, self.heads, head_dim, h * w]);
        let part = |i: usize| qkv.clone().narrow(1, i, 1).reshape([b, self.heads, head_dim, h * w]);
        let (q, k, v) = (part(0), part(1), part(2)); // [B, heads, d, HW]
        let scores = q.swap_dims(2, 3).matmul(k) / (head_dim as f64).sqrt(); // [B, heads, HW, HW]
        let attn = softmax(scores, 3);
        let out = v.matmul(attn.swap_dims(2, 3)); // [B, heads, d, HW]
        let out = self.proj.forward(out.reshape([b, c, h, w]));
        (x + out) * core::f32::consts::FRAC_1_SQRT_2
    }
}
