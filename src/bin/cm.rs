//! `cm`: train, distil, evaluate and sample consistency models on MNIST (native, CPU).
//!
//! ```text
//! cm teacher  --run runs/teacher --steps 12000          # EDM diffusion teacher
//! cm distill  --run runs/cd --teacher weights/teacher.json  # consistency distillation
//! cm ct       --run runs/ct --ict                        # consistency training from scratch
//! cm classifier                                           # the evaluation's feature network
//! cm eval                                                 # FD table -> weights/metrics.json, README
//! cm progress --try CD=runs/cd --teacher weights/teacher.json --out progress.svg   # FD against steps
//! cm sample   --model weights/cd.json --steps 2 --out samples/
//! ```
//! Every long command shows a progress bar, checkpoints atomically, and continues with `--resume`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use consistency_models::burn::tensor::Device;
use consistency_models::editing::{Edit, EditRequest, interpolation_path};
use consistency_models::sampling::{LabelChoice, Method, PIXELS, SampleRequest, Sampler, sample};
use consistency_models::train::classifier::ClassifierOptions;
use consistency_models::train::device::DeviceChoice;
use consistency_models::train::images::{read_gray_png, write_grid, write_gray_png};
use consistency_models::train::progress::{self, ProgressOptions};
use consistency_models::train::report::{EvalOptions, evaluate_models};
use consistency_models::train::run_options::{self, CtOptions, DistillOptions, PrecisionOptions, RunOptions, TeacherOptions};
use consistency_models::Model;

#[derive(Parser)]
#[command(name = "cm", version, about = "Consistency models on MNIST: train, distil, evaluate, sample")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where the networks run: `cpu` (burn's flex backend) or `gpu` (burn's wgpu backend: Vulkan,
    /// Metal; needs a build with `--features gpu`). Runs, checkpoints and weights are the same
    /// on both, so a run started on one resumes on the other.
    #[arg(long, global = true, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Train the EDM diffusion teacher by denoising score matching.
    Teacher {
        #[command(flatten)]
        train: RunOptions,
        #[command(flatten)]
        teacher: TeacherOptions,
    },
    /// Consistency distillation (Algorithm 2) from a trained teacher.
    Distill {
        #[command(flatten)]
        train: RunOptions,
        #[command(flatten)]
        distill: DistillOptions,
    },
    /// Consistency training from scratch (Algorithm 3), original CT or with the iCT improvements.
    Ct {
        #[command(flatten)]
        train: RunOptions,
        #[command(flatten)]
        ct: CtOptions,
    },
    /// Write a run's EMA weights and manifest into the weights folder (or re-export exported weights at another precision).
    Export(ExportArgs),
    /// Train the digit classifier whose features `eval` compares.
    Classifier(ClassifierOptions),
    /// Measure every model: Fréchet distance, confidence, class balance, copies, time per sample.
    Eval(EvalOptions),
    /// Draw the FD of several tries (runs, branches of runs, exported models) against their
    /// training steps, beside the teacher and the goals: does a goal come within reach?
    Progress(ProgressOptions),
    /// Edit without retraining (Algorithm 4): inpaint, turn a drawing into a digit, clean up a
    /// noisy digit, or morph between two seeds. PNG in, PNG out.
    Edit(EditArgs),
    /// Write samples of a model as 28x28 PNG files and a grid.
    Sample(SampleArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "from"])))]
struct ExportArgs {
    /// The run folder: export its EMA weights.
    #[arg(long)]
    run: Option<PathBuf>,
    /// Or re-export exported weights (their manifest) at another precision, e.g. the shipped
    /// student with fewer mantissa bits; their measurements are dropped (run `cm eval` again).
    #[arg(long)]
    from: Option<PathBuf>,
    /// Name of the files: <out>/<name>.bpk and .json.
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "weights")]
    out: PathBuf,
    #[command(flatten)]
    precision: PrecisionOptions,
}

/// The teacher's ODE sampler for `cm sample`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TeacherSampler {
    Heun,
    Euler,
}

#[derive(Args)]
struct SampleArgs {
    /// The model's manifest (teacher, cd or ct).
    #[arg(long)]
    model: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 16)]
    count: usize,
    /// Steps (consistency models) or Karras levels (teacher; Heun costs 2 steps - 1 NFE).
    #[arg(long, default_value_t = 1)]
    steps: usize,
    /// Explicit levels, comma-separated, from high to low (overrides --steps). For a
    /// consistency model the first is sigma_max (80).
    #[arg(long, value_delimiter = ',')]
    levels: Option<Vec<f64>>,
    /// Teacher sampler.
    #[arg(long, value_enum, default_value_t = TeacherSampler::Heun)]
    sampler: TeacherSampler,
    /// Digit 0-9, `any`, or `0-9` for the digits in turn (image k gets digit k mod 10).
    #[arg(long, default_value_t = LabelChoice::Any)]
    label: LabelChoice,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for the PNG files (sample_000.png, ...).
    #[arg(long, default_value = "samples")]
    out: PathBuf,
    /// Also write a grid of all samples here.
    #[arg(long)]
    grid: Option<PathBuf>,
}

/// `cm edit --mode`: the modes of `editing::Edit`, with the same meaning as on the page.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EditMode {
    /// Fill in the parts of --input where --mask is black; white mask pixels are kept exactly.
    Inpaint,
    /// Turn the rough drawing --input into a digit: it is noised to level --sigma (the strength;
    /// 1-10 is a useful range) with the seed's noise, and the loop starts there (SDEdit).
    Stroke,
    /// Clean up a noisy version of --input, a clean digit: the seed's noise of level --sigma is
    /// added to it, and the loop starts at that level (the page's "clean up a noisy digit").
    Denoise,
    /// Clean up --input, an image that already carries Gaussian noise of level --sigma (the
    /// paper's denoising: the loop starts at the image itself).
    Restore,
    /// Morph from --seed to --seed-b in --frames images (written as a row).
    Interpolate,
}

#[derive(Args)]
struct EditArgs {
    /// A consistency model's manifest (cd or ct).
    #[arg(long, default_value = "weights/cd.json")]
    model: PathBuf,
    #[arg(long, value_enum)]
    mode: EditMode,
    /// The 28x28 input PNG (inpaint, stroke, denoise, restore).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The 28x28 mask PNG for inpainting: white = known, black = to fill in.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// The level: the strength (stroke), the noise added (denoise) or the noise the input carries (restore).
    #[arg(long, default_value_t = 2.0)]
    sigma: f64,
    /// Steps of the loop.
    #[arg(long, default_value_t = 2)]
    steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The second seed of an interpolation.
    #[arg(long, default_value_t = 1)]
    seed_b: u64,
    /// Frames of an interpolation.
    #[arg(long, default_value_t = 8)]
    frames: usize,
    /// Digit 0-9 to aim for, `any`, or `0-9` for the digits in turn (not for an interpolation).
    #[arg(long, default_value_t = LabelChoice::Any)]
    label: LabelChoice,
    /// Output PNG (a row of frames for interpolation).
    #[arg(long)]
    out: PathBuf,
}

impl EditArgs {
    /// The edit these arguments describe (reading the PNGs).
    fn request(&self) -> Result<EditRequest, String> {
        let read = |path: &Option<PathBuf>, what: &str| -> Result<Vec<f32>, String> {
            let path = path.as_ref().ok_or_else(|| format!("--mode needs --{what}"))?;
            read_gray_png(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let image = || read(&self.input, "input");
        let level = self.sigma;
        let edit = match self.mode {
            // The mask PNG: white (1) = known, black (-1) = to fill in.
            EditMode::Inpaint => Edit::Inpaint { mask: read(&self.mask, "mask")?.iter().map(|v| ((v + 1.0) / 2.0).round()).collect(), image: image()? },
            EditMode::Stroke => Edit::Stroke { image: image()?, level },
            EditMode::Denoise => Edit::Denoise { image: image()?, level },
            EditMode::Restore => Edit::Restore { image: image()?, level },
            EditMode::Interpolate => Edit::Interpolate { seed_b: self.seed_b, t: interpolation_path(self.frames) },
        };
        Ok(EditRequest { edit, seed: self.seed, steps: self.steps, label: self.label, count: 1 })
    }
}

fn command_line() -> String {
    let quote = |a: String| {
        if a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c)) { a } else { format!("'{}'", a.replace('\'', "'\\''")) }
    };
    let mut args = std::env::args();
    let _ = args.next();
    std::iter::once("cm".to_string()).chain(args.map(quote)).collect::<Vec<_>>().join(" ")
}

fn sample_command(args: &SampleArgs, device: &Device) -> Result<(), String> {
    let model = Model::load(&args.model, device).map_err(|e| e.to_string())?;
    let method = match (model.method(), args.sampler) {
        (Method::Consistency, _) => Method::Consistency,
        (_, TeacherSampler::Euler) => Method::Euler,
        (_, TeacherSampler::Heun) => Method::Heun,
    };
    let levels = args.levels.clone().unwrap_or_else(|| model.levels_for_steps(args.steps, args.label));
    let request = SampleRequest::labelled(args.seed, 0, args.count, args.label);
    let denoiser = model.denoiser();
    let sampler = Sampler::new(denoiser.as_ref(), method, request, levels.clone(), device).map_err(|e| e.to_string())?;
    let nfe = sampler.total_nfe();
    let start = std::time::Instant::now();
    let images = sample(sampler, &mut |s| eprintln!("step {}/{}: sigma {:.4}, {} NFE", s.index + 1, s.total, s.sigma, s.nfe));
    let seconds = start.elapsed().as_secs_f64();
    let pixels = images.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    for (i, image) in pixels.chunks(PIXELS).enumerate() {
        write_gray_png(&args.out.join(format!("sample_{i:03}.png")), image, 28, 28)?;
    }
    if let Some(grid) = &args.grid {
        write_grid(grid, &pixels, 8)?;
    }
    eprintln!("{} samples ({method:?}, levels {levels:?}, {nfe} NFE) in {seconds:.2} s -> {}", args.count, args.out.display());
    Ok(())
}

fn edit_command(args: &EditArgs, device: &Device) -> Result<(), String> {
    let model = Model::load(&args.model, device).map_err(|e| e.to_string())?;
    let denoiser = model.denoiser();
    let sampler = args.request()?.sampler(&model, denoiser.as_ref(), device).map_err(|e| e.to_string())?;
    let out = sample(sampler, &mut |s| eprintln!("step {}/{}: sigma {:.4}", s.index + 1, s.total, s.sigma));
    let pixels = out.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    if pixels.len() == PIXELS {
        write_gray_png(&args.out, &pixels, 28, 28)?;
    } else {
        write_grid(&args.out, &pixels, pixels.len() / PIXELS)?;
    }
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    // Acquired only by the commands that run a network.
    let device = || -> Result<Device, String> {
        let (device, what) = cli.device.device()?;
        eprintln!("device: {what}");
        Ok(device)
    };
    let command = command_line();
    match cli.command {
        Command::Teacher { train, teacher } => run_options::run(&train, teacher.objective(), None, &device()?, &command),
        Command::Distill { train, distill } => {
            let device = device()?;
            let (teacher, objective) = distill.teacher_and_objective(&device)?;
            run_options::run(&train, objective, Some(&teacher), &device, &command)
        }
        Command::Ct { train, ct } => run_options::run(&train, ct.objective(), None, &device()?, &command),
        Command::Export(args) => {
            let path = match (&args.run, &args.from) {
                (Some(run), _) => args.precision.export(run, &args.out, &args.name, &command)?,
                (None, Some(from)) => args.precision.export_from(from, &args.out, &args.name, &command)?,
                (None, None) => unreachable!("clap requires --run or --from"),
            };
            eprintln!("exported {}", path.display());
            Ok(())
        }
        Command::Classifier(options) => options.train_and_save(&command, &device()?),
        Command::Eval(options) => {
            println!("{}", evaluate_models(&options, &device()?)?);
            Ok(())
        }
        Command::Progress(options) => {
            eprintln!("wrote {}", progress::draw(&options)?.display());
            Ok(())
        }
        Command::Edit(args) => edit_command(&args, &device()?),
        Command::Sample(args) => sample_command(&args, &device()?),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
