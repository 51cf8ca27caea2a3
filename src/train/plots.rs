//! Pictures of the numbers (plotters, SVG): quality against network evaluations for every model
//! of the table, a training run's loss and periodic FD against its steps, and the FD of several
//! tries against their training steps beside the teacher and the goals.

use std::path::Path;

use plotters::prelude::*;

use crate::train::eval::Row;
use crate::train::progress::Point;

/// One line of a chart: a name, a colour, and its points; a dashed line is a level to compare
/// with (drawn without markers).
struct Line {
    name: String,
    colour: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

impl Line {
    fn new(name: impl Into<String>, colour: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), colour, points, dashed: false }
    }
}

const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(0, 80, 110),
];

fn plot_error(e: impl std::fmt::Display) -> String {
    format!("drawing a chart: {e}")
}

/// The range `lo..hi` of `values`, widened by a margin (multiplicative: the axes are logarithmic).
fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.filter(|v| *v > 0.0 && v.is_finite()).fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi { 1.0..10.0 } else { lo / 1.3..hi * 1.3 }
}

/// A tick label: as many decimals as a value of that size needs.
fn tick(v: &f64) -> String {
    match v.abs() {
        0.0 => "0".into(),
        a if a >= 10.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// The ticks of a logarithmic axis over `r`: 1, 2 and 5 times each power of ten.
fn log_ticks(r: &std::ops::Range<f64>) -> Vec<f64> {
    let (lo, hi) = (r.start.log10().floor() as i32, r.end.log10().ceil() as i32);
    (lo..=hi).flat_map(|k| [1.0, 2.0, 5.0].map(|d| d * 10f64.powi(k))).filter(|v| r.contains(v)).collect()
}

/// Where a chart's legend goes: over the plot's upper right corner, or in rows beneath the plot
/// (for charts whose lines may reach any corner).
#[derive(Clone, Copy, PartialEq)]
enum Legend {
    Inside,
    Below,
}

/// Rows of the legend beneath a plot, and their height in pixels.
const LEGEND_COLUMNS: usize = 2;
const LEGEND_ROW: u32 = 18;

/// Draws `panels` side by side, each a titled chart of its lines, into an SVG file. The x axis is
/// logarithmic when `log_x`; a y axis spanning more than a factor of 20 is logarithmic too.
fn draw(path: &Path, (width, height): (u32, u32), x_label: &str, y_label: &str, log_x: bool, legend: Legend, panels: &[(String, Vec<Line>)]) -> Result<(), String> {
    let rows = |lines: &[Line]| lines.len().div_ceil(LEGEND_COLUMNS) as u32;
    let below = if legend == Legend::Below { panels.iter().map(|(_, l)| rows(l)).max().unwrap_or(0) * LEGEND_ROW + 12 } else { 0 };
    let root = SVGBackend::new(path, (width * panels.len() as u32, height + below)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    for (area, (title, lines)) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        let (plot, legend_area) = area.split_vertically(height);
        let xs = log_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)));
        let ys = log_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
        let log_y = ys.end / ys.start > 20.0 * 1.69; // the margins add a factor of 1.3 at each end
        let linear = |r: std::ops::Range<f64>| 0.0..r.end / 1.3 * 1.03; // from 0, just past the last point
        let y_ticks = log_ticks(&ys);
        let labels = (title.as_str(), lines.as_slice(), x_label, y_label, legend);
        match (log_x, log_y) {
            (true, true) => panel(&plot, labels, xs.log_scale(), ys.log_scale().with_key_points(y_ticks)),
            (true, false) => panel(&plot, labels, xs.log_scale(), ys),
            (false, true) => panel(&plot, labels, linear(xs), ys.log_scale().with_key_points(y_ticks)),
            (false, false) => panel(&plot, labels, linear(xs), ys),
        }?;
        if legend == Legend::Below {
            legend_below(&legend_area, lines, width)?;
        }
    }
    root.present().map_err(plot_error)
}

/// The legend of `lines` in rows of [`LEGEND_COLUMNS`] beneath a plot `width` pixels wide.
fn legend_below(area: &DrawingArea<SVGBackend, plotters::coord::Shift>, lines: &[Line], width: u32) -> Result<(), String> {
    let column = (width as i32 - 70) / LEGEND_COLUMNS as i32;
    for (i, line) in lines.iter().enumerate() {
        let (x, y) = (60 + (i % LEGEND_COLUMNS) as i32 * column, 6 + (i / LEGEND_COLUMNS) as i32 * LEGEND_ROW as i32);
        let style = line.colour.stroke_width(2);
        let mark: Vec<Vec<(i32, i32)>> = if line.dashed { vec![vec![(x, y + 7), (x + 8, y + 7)], vec![(x + 12, y + 7), (x + 20, y + 7)]] } else { vec![vec![(x, y + 7), (x + 20, y + 7)]] };
        for segment in mark {
            area.draw(&PathElement::new(segment, style)).map_err(plot_error)?;
        }
        area.draw(&Text::new(line.name.clone(), (x + 26, y), ("sans-serif", 13))).map_err(plot_error)?;
    }
    Ok(())
}

/// One chart of `lines` in `area` (with its title and axis labels) over `x` and `y`.
fn panel<X, Y>(area: &DrawingArea<SVGBackend, plotters::coord::Shift>, (title, lines, x_label, y_label, legend): (&str, &[Line], &str, &str, Legend), x: X, y: Y) -> Result<(), String>
where
    X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(x, y)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(plot_error)?;
    for line in lines.iter().filter(|l| !l.points.is_empty()) {
        let colour = line.colour;
        if line.dashed {
            chart
                .draw_series(DashedLineSeries::new(line.points.clone(), 6, 4, colour.stroke_width(2)))
                .map_err(plot_error)?
                .label(line.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            continue;
        }
        chart
            .draw_series(LineSeries::new(line.points.clone(), colour.stroke_width(2)))
            .map_err(plot_error)?
            .label(line.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(plot_error)?;
    }
    if legend == Legend::Below {
        return Ok(());
    }
    chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).border_style(BLACK).background_style(WHITE.mix(0.85)).draw().map_err(plot_error)?;
    Ok(())
}

/// FD against network evaluations for each model and sampler of the table (teacher Heun and
/// Euler, CD, CT), "any digit" and "labels 0-9" side by side; the real digits' FD as a floor.
pub fn quality_against_nfe(rows: &[Row], path: &Path) -> Result<(), String> {
    let mut panels = Vec::new();
    for (conditional, title) in [(false, "any digit"), (true, "labels 0-9")] {
        let mut lines: Vec<Line> = Vec::new();
        for r in rows.iter().filter(|r| r.conditional == conditional && r.nfe > 0) {
            let name = format!("{} {}", r.model, r.sampler);
            let line = match lines.iter_mut().position(|l| l.name == name) {
                Some(i) => &mut lines[i],
                None => {
                    let colour = COLOURS[lines.len() % COLOURS.len()];
                    lines.push(Line::new(name, colour, Vec::new()));
                    lines.last_mut().expect("just pushed")
                }
            };
            line.points.push((r.nfe as f64, r.fd));
        }
        for line in &mut lines {
            line.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        if let Some(real) = rows.iter().find(|r| r.nfe == 0) {
            let span = log_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)));
            lines.push(Line::new("real digits", RGBColor(120, 120, 120), vec![(span.start * 1.3, real.fd), (span.end / 1.3, real.fd)]));
        }
        if lines.iter().any(|l| l.name != "real digits") {
            panels.push((title.to_string(), lines));
        }
    }
    if panels.is_empty() {
        return Err("no rows with network evaluations to draw".into());
    }
    draw(path, (480, 380), "network evaluations (NFE)", "FD (lower is better)", true, Legend::Inside, &panels)
}

/// A training run's curves: the logged loss against the step and, when the run measures it, the
/// FD of its EMA weights' samples against the step (one line per label choice).
pub fn run_curves(losses: &[(u64, f64)], fds: &[(&str, Vec<(u64, f64)>)], path: &Path) -> Result<(), String> {
    let series = |name: &str, colour, points: &[(u64, f64)]| Line::new(name, colour, points.iter().map(|&(s, v)| (s as f64, v)).collect());
    let mut panels = vec![("training loss".to_string(), vec![series("loss", COLOURS[0], losses)])];
    if fds.iter().any(|(_, points)| !points.is_empty()) {
        let lines = fds.iter().enumerate().map(|(i, (name, points))| series(name, COLOURS[1 + i % (COLOURS.len() - 1)], points)).collect();
        panels.push(("FD of the EMA weights' samples".to_string(), lines));
    }
    draw(path, (480, 380), "step", "", false, Legend::Inside, &panels)
}

/// The FD of each try against its total training steps (`tries`: a name and its points), with
/// the labels 0-9 in turn and for any digit side by side, and the `levels` to compare with (a
/// name, the FD with labels and for any digit) as dashed lines across.
pub fn progress(tries: &[(String, Vec<Point>)], levels: &[(String, f64, f64)], samples: usize, path: &Path) -> Result<(), String> {
    let last = tries.iter().flat_map(|(_, p)| p.iter().map(|p| p.step)).max().unwrap_or(1) as f64;
    let level_colours = [RGBColor(60, 60, 60), RGBColor(44, 160, 44), RGBColor(214, 39, 40), RGBColor(150, 150, 150)];
    let panel = |title: &str, fd: fn(&Point) -> f64, level: fn(&(String, f64, f64)) -> f64| {
        let mut lines: Vec<Line> = tries.iter().enumerate().map(|(i, (name, points))| Line::new(name.as_str(), COLOURS[i % COLOURS.len()], points.iter().map(|p| (p.step as f64, fd(p))).collect())).collect();
        for (i, l) in levels.iter().enumerate() {
            lines.push(Line { dashed: true, ..Line::new(l.0.as_str(), level_colours[i % level_colours.len()], vec![(0.0, level(l)), (last, level(l))]) });
        }
        (title.to_string(), lines)
    };
    let panels = [panel("FD with the labels 0-9", |p| p.labels, |l| l.1), panel("FD for any digit", |p| p.any, |l| l.2)];
    draw(path, (640, 420), "training steps", &format!("FD, {samples} samples (lower is better)"), false, Legend::Below, &panels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, sampler: &str, nfe: usize, fd: f64, conditional: bool) -> Row {
        Row { model: model.into(), sampler: sampler.into(), nfe, fd, class_share: vec![0.1; 10], samples: 10, batch: 10, conditional, ..Row::default() }
    }

    #[test]
    fn the_charts_name_every_model_and_sampler() {
        let dir = std::env::temp_dir().join(format!("cm-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = vec![
            row("real digits", "held out", 0, 18.0, false),
            row("teacher", "heun", 35, 36.0, false),
            row("teacher", "euler", 1, 300.0, false),
            row("teacher", "euler", 8, 80.0, false),
            row("cd", "consistency", 1, 60.0, false),
            row("cd", "consistency", 2, 50.0, true),
        ];
        let path = dir.join("quality.svg");
        quality_against_nfe(&rows, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for name in ["any digit", "labels 0-9", "teacher heun", "teacher euler", "cd consistency", "real digits", "network evaluations"] {
            assert!(svg.contains(name), "{name}");
        }
        let path = dir.join("run.svg");
        run_curves(&[(10, 0.5), (20, 0.3)], &[("labels 0-9", vec![(20, 90.0)]), ("any digit", vec![(20, 200.0)])], &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains("training loss") && svg.contains("FD of the EMA"));
        assert!(quality_against_nfe(&rows[..1], &dir.join("none.svg")).is_err(), "nothing to draw");
        let path = dir.join("progress.svg");
        let points = vec![Point { step: 1000, labels: 90.0, any: 250.0 }, Point { step: 2000, labels: 80.0, any: 220.0 }];
        progress(&[("CD".into(), points)], &[("goal of CD".into(), 30.0, 70.0)], 300, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for name in ["FD with the labels 0-9", "FD for any digit", "CD", "goal of CD", "300 samples", "training steps"] {
            assert!(svg.contains(name), "{name}");
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
