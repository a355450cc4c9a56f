//! Line charts (training curves, forecasts) written as PNG and SVG.
//!
//! Pure Rust from end to end: `plotters` draws, its bitmap backend encodes the PNG, and text is
//! rasterised by `ab_glyph` from DejaVu Sans, embedded in the library (`assets/fonts/`), so
//! nothing is needed from the system at build or run time. SVG files name the font family
//! `sans-serif` and leave the text to the viewer's fonts.
//!
//! Whatever the data, drawing does not panic: non-finite points are skipped (a line breaks
//! there), empty series are left out, one point or all-equal values get a padded axis, and a
//! log axis over data with values ≤ 0 falls back to a linear one, saying so in the axis title.
//!
//! ```
//! use rnn::plot::{LinePlot, LineStyle, Series};
//!
//! let train: Vec<f64> = (1..=30).map(|e| 1.0 / e as f64).collect();
//! let valid: Vec<f64> = (1..=30).map(|e| 1.2 / e as f64 + 0.01).collect();
//! let plot = LinePlot::new("Loss", "epoch", "MSE")
//!     .with_series([Series::from_values("train", &train)])
//!     .with_series([Series::from_values("validation", &valid).with_style(LineStyle::Dashed)])
//!     .with_log_y(true);
//! let dir = tempfile::tempdir().unwrap();
//! let (png, svg) = plot.save(&dir.path().join("loss"))?; // loss.png and loss.svg
//! assert!(png.exists() && svg.exists());
//! # Ok::<(), rnn::Error>(())
//! ```

use std::ffi::OsString;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, TextStyle};

use crate::io::write_atomic;
use crate::{Error, Result};

mod axis;

use axis::*;

/// Width and height in pixels of every chart (PNG pixels, SVG user units).
pub const SIZE: (u32, u32) = (1000, 600);
/// PNGs are drawn this many times larger, then averaged down (anti-aliasing).
pub const SUPERSAMPLE: u32 = 2;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/fonts/`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The one font family the charts use; plotters' own defaults ask for it too.
const FAMILY: &str = "sans-serif";

/// Line colours, by series index (matplotlib's "tab10").
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];
const TEXT: RGBColor = RGBColor(40, 40, 40);
const MARKER: RGBColor = RGBColor(80, 80, 80);
const FAINT: RGBColor = RGBColor(120, 120, 120);
/// Finite values beyond this are clamped, so that spans and pixel maps stay finite.
const LIMIT: f64 = 1e300;

/// How a series' line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineStyle {
    /// A continuous line.
    #[default]
    Solid,
    /// Long dashes.
    Dashed,
    /// Short dashes, close together.
    Dotted,
}

/// One named line: its points `(x, y)` in drawing order; a non-finite point breaks the line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The legend entry (none when empty).
    pub name: String,
    /// The points; NaN or infinite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// Solid, dashed or dotted; the colour comes from the series' index.
    pub style: LineStyle,
}

impl Series {
    /// A solid line through `points`.
    pub fn solid(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, style: LineStyle::Solid }
    }

    /// A dashed line through `points`.
    pub fn dashed(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::solid(name, points).with_style(LineStyle::Dashed)
    }

    /// A dotted line through `points`.
    pub fn dotted(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::solid(name, points).with_style(LineStyle::Dotted)
    }

    /// A solid line through `(i, values[i])`: x is the index (into [`LinePlot::x_dates`] when set).
    pub fn from_values(name: impl Into<String>, values: &[f64]) -> Self {
        Series::solid(name, values.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect())
    }

    /// The same series drawn with `style`.
    pub fn with_style(mut self, style: LineStyle) -> Self {
        self.style = style;
        self
    }
}

/// A line chart: titled axes, a light grid, a legend in the emptiest corner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinePlot {
    /// Drawn above the chart (nothing when empty).
    pub title: String,
    /// The x axis' title.
    pub x_label: String,
    /// The y axis' title.
    pub y_label: String,
    /// The lines, coloured by index.
    pub series: Vec<Series>,
    /// A logarithmic y axis (linear, with a note, when some value is ≤ 0).
    pub log_y: bool,
    /// Tick labels for x: x is an index into this list (e.g. the dates of a forecast).
    pub x_dates: Option<Vec<String>>,
    /// A dashed vertical line at x with a label, e.g. `(split, "test split")`.
    pub marker_x: Option<(f64, String)>,
}

impl LinePlot {
    /// An empty chart with a title and axis titles.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePlot { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..LinePlot::default() }
    }

    /// Appends lines: a `Vec`, an array, or an `Option` of [`Series`].
    pub fn with_series(mut self, series: impl IntoIterator<Item = Series>) -> Self {
        self.series.extend(series);
        self
    }

    /// Sets a logarithmic y axis.
    pub fn with_log_y(mut self, log_y: bool) -> Self {
        self.log_y = log_y;
        self
    }

    /// Labels x tick `i` with `dates[i]`.
    pub fn with_dates(mut self, dates: Vec<String>) -> Self {
        self.x_dates = Some(dates);
        self
    }

    /// Adds a dashed vertical line at `x`, labelled.
    pub fn with_marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.marker_x = Some((x, label.into()));
        self
    }

    /// Writes the chart as a [`SIZE`] PNG to `path`, atomically.
    ///
    /// Drawn at [`SUPERSAMPLE`] times the size, then averaged down, so lines and text are smooth.
    ///
    /// # Errors
    /// [`Error::Plot`] naming `path` when drawing or writing fails (e.g. a missing folder).
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let fail = |msg: String| Error::Plot { path: path.to_path_buf(), msg };
        let (w, h, k) = (SIZE.0 as usize, SIZE.1 as usize, SUPERSAMPLE as usize);
        let mut big = vec![0u8; w * k * h * k * 3];
        {
            let root = BitMapBackend::with_buffer(&mut big, (SIZE.0 * SUPERSAMPLE, SIZE.1 * SUPERSAMPLE));
            let root = root.into_drawing_area();
            self.draw(&root, Canvas::Png).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))?;
        }
        let small = downsample(&big, w, h, k);
        // The bitmap backend only encodes to a named file, so encode to a hidden one beside the
        // target, then copy it in atomically; the guard removes it on every path.
        let scratch = Scratch::beside(path);
        fs::File::create(&scratch.0).map_err(|e| fail(e.to_string()))?; // a plain message for a bad folder
        {
            let mut png = BitMapBackend::new(&scratch.0, SIZE);
            png.blit_bitmap((0, 0), SIZE, &small).map_err(|e| fail(e.to_string()))?;
            png.present().map_err(|e| fail(e.to_string()))?;
        }
        let bytes = fs::read(&scratch.0).map_err(|e| fail(e.to_string()))?;
        write_atomic(path, &bytes).map_err(|e| io_to_plot(e, fail))
    }

    /// Writes the chart as a [`SIZE`] SVG to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Plot`] naming `path` when drawing or writing fails.
    pub fn save_svg(&self, path: &Path) -> Result<()> {
        let fail = |msg: String| Error::Plot { path: path.to_path_buf(), msg };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.draw(&root, Canvas::Svg).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))?;
        }
        write_atomic(path, svg.as_bytes()).map_err(|e| io_to_plot(e, fail))
    }

    /// Writes `<stem>.png` and `<stem>.svg` (the suffixes are appended); returns both paths.
    ///
    /// # Errors
    /// As [`LinePlot::save_png`] and [`LinePlot::save_svg`].
    pub fn save(&self, stem: &Path) -> Result<(PathBuf, PathBuf)> {
        let with = |ext: &str| {
            let mut s = OsString::from(stem.as_os_str());
            s.push(ext);
            PathBuf::from(s)
        };
        let (png, svg) = (with(".png"), with(".svg"));
        self.save_png(&png)?;
        self.save_svg(&svg)?;
        Ok((png, svg))
    }

    /// Draws the whole chart on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        canvas: Canvas,
    ) -> std::result::Result<(), String> {
        register_font()?;
        // Every length in pixels is multiplied by `k`.
        let k = match canvas {
            Canvas::Png => f64::from(SUPERSAMPLE),
            Canvas::Svg => 1.0,
        };
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let px = |v: f64| (v * k).round() as i32;
        let thin = px(1.0).max(1) as u32;
        let font = |size: f64, color: &'static RGBColor| TextStyle::from((FAMILY, size * k).into_font()).color(color);
        let data = Prepared::new(self);
        let label_font = font(18.0, &TEXT);
        let width_of = |s: &str| {
            let guess = 10.0 * k * s.chars().count() as f64;
            root.estimate_text_size(s, &label_font).map_or(guess, |(w, _)| f64::from(w))
        };

        // Ticks and their labels; the y label area is as wide as the widest label.
        let dates = self.x_dates.as_deref().filter(|d| !d.is_empty());
        let (x_axis, x_fmt): (Axis, Labels<'_>) = match dates {
            Some(dates) => {
                let widest = dates.iter().map(|d| width_of(d)).fold(0.0, f64::max);
                let n = (850.0 * k / (widest + 50.0 * k)).clamp(2.0, 8.0) as usize;
                let mut axis = data.x.linear(n, 1.0);
                axis.major.retain(|&x| x >= 0.0 && x <= (dates.len() - 1) as f64);
                let fmt = move |x: &f64| {
                    let i = x.round();
                    let ok = (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < dates.len();
                    if ok { dates[i as usize].clone() } else { String::new() }
                };
                (axis, Box::new(fmt))
            }
            None => {
                let axis = data.x.linear(8, 0.0);
                let fmt = LinearFmt::new(&axis.major);
                (axis, Box::new(move |x: &f64| fmt.format(*x)))
            }
        };
        let (y_axis, y_fmt): (Axis, Labels<'_>) = if data.log {
            (data.y.log(), Box::new(|y: &f64| format_log(*y)))
        } else {
            let axis = data.y.linear(6, 0.0);
            let fmt = LinearFmt::new(&axis.major);
            (axis, Box::new(move |y: &f64| fmt.format(*y)))
        };
        let widest_y = y_axis.major.iter().map(|y| width_of(&y_fmt(y))).fold(0.0, f64::max);
        let y_desc = match data.note {
            Some(note) => format!("{} ({note})", self.y_label),
            None => self.y_label.clone(),
        };

        root.fill(&WHITE).map_err(err)?;
        let mut builder = ChartBuilder::on(root);
        builder
            .margin_top(px(if self.title.is_empty() { 24.0 } else { 16.0 }))
            .margin_bottom(px(10.0))
            .margin_left(px(14.0))
            .margin_right(px(36.0))
            .x_label_area_size(px(62.0))
            .y_label_area_size(widest_y.round() as i32 + px(46.0));
        if !self.title.is_empty() {
            builder.caption(&self.title, font(30.0, &TEXT));
        }
        let (x_range, y_range) = (x_axis.range(), y_axis.range());
        let mut chart = builder.build_cartesian_2d(x_axis, y_axis).map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(y_desc)
            .label_style(label_font.clone())
            .axis_desc_style(font(20.0, &TEXT))
            .bold_line_style(BLACK.mix(0.12).stroke_width(thin))
            .light_line_style(BLACK.mix(0.05).stroke_width(thin))
            .axis_style(BLACK.mix(0.55).stroke_width(thin))
            .set_all_tick_mark_size(px(5.0))
            .x_label_formatter(&*x_fmt)
            .y_label_formatter(&*y_fmt)
            .draw()
            .map_err(err)?;
        // Close the frame (the mesh draws the left and bottom axes only).
        let (x0, x1, y0, y1) = (x_range.start, x_range.end, y_range.start, y_range.end);
        let frame = BLACK.mix(0.55).stroke_width(thin);
        chart.draw_series([PathElement::new(vec![(x0, y1), (x1, y1), (x1, y0)], frame)]).map_err(err)?;

        let marker = self.marker_x.as_ref().filter(|(x, _)| x.is_finite());
        if let Some(&(mx, _)) = marker {
            let grey = MARKER.stroke_width(thin);
            let line = DashedPathElement::new([(mx, y0), (mx, y1)], px(6.0), px(4.0), grey);
            chart.draw_series([line]).map_err(err)?;
        }

        for (i, runs) in &data.lines {
            let s = &self.series[*i];
            let color = PALETTE[i % PALETTE.len()];
            let style = color.stroke_width(px(2.0) as u32);
            let (dash, gap) = match s.style {
                LineStyle::Solid => (0, 0),
                LineStyle::Dashed => (px(10.0), px(6.0)),
                LineStyle::Dotted => (px(2.0), px(4.0)),
            };
            let long = runs.iter().filter(|r| r.len() > 1);
            let anno = match canvas {
                Canvas::Svg if dash == 0 => chart.draw_series(long.map(|r| PathElement::new(r.clone(), style))),
                Canvas::Svg => {
                    chart.draw_series(long.map(|r| DashedPathElement::new(r.iter().copied(), dash, gap, style)))
                }
                Canvas::Png => {
                    // plotters fills wide lines as polygons whose width varies with direction;
                    // a round brush of 1-pixel lines is even in every direction.
                    let thin = color.stroke_width(1);
                    for run in long {
                        let pixels: Vec<_> = run.iter().map(|p| chart.backend_coord(p)).collect();
                        for (dx, dy) in brush(style.stroke_width) {
                            let shifted = pixels.iter().map(move |&(x, y)| (x + dx, y + dy));
                            if dash == 0 {
                                root.draw(&PathElement::new(shifted.collect::<Vec<_>>(), thin))
                            } else {
                                root.draw(&DashedPathElement::new(shifted, dash, gap, thin))
                            }
                            .map_err(err)?;
                        }
                    }
                    chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                }
            }
            .map_err(err)?;
            if !s.name.is_empty() {
                let glyph = px(30.0);
                let (dash, gap) = if dash == 0 { (glyph, 1) } else { (dash, gap) };
                anno.label(s.name.as_str())
                    .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + glyph, y)], dash, gap, style));
            }
            // A point with no neighbour would be invisible as a line: mark it.
            let lone = runs.iter().filter(|r| r.len() == 1);
            chart.draw_series(lone.map(|r| Circle::new(r[0], px(3.5), color.filled()))).map_err(err)?;
        }

        if let Some((mx, label)) = marker {
            let right = (mx - x0) / (x1 - x0) > 0.75;
            let (anchor, dx) = if right { (HPos::Right, -px(6.0)) } else { (HPos::Left, px(6.0)) };
            let style = font(17.0, &MARKER).pos(Pos::new(anchor, VPos::Top));
            let text = EmptyElement::at((*mx, y1)) + Text::new(label.clone(), (dx, px(6.0)), style);
            chart.draw_series([text]).map_err(err)?;
        }

        if data.lines.is_empty() {
            let style = font(22.0, &FAINT).pos(Pos::new(HPos::Center, VPos::Center));
            let text = Text::new("no data", ((x0 + x1) / 2.0, (y0 + y1) / 2.0), style);
            chart.draw_series([text]).map_err(err)?;
        } else if data.lines.iter().any(|(i, _)| !self.series[*i].name.is_empty()) {
            let area = chart.plotting_area().dim_in_pixel();
            let named = data.lines.iter().filter(|(i, _)| !self.series[*i].name.is_empty());
            let box_w = named.clone().map(|(i, _)| width_of(&self.series[*i].name)).fold(0.0, f64::max) + 80.0 * k;
            let box_h = (named.count() as f64 * 24.0 + 36.0) * k;
            chart
                .configure_series_labels()
                .position(data.legend_corner((box_w, box_h), area))
                .margin(px(12.0))
                .legend_area_size(px(40.0))
                .label_font(label_font.clone())
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.25).stroke_width(thin))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Where a chart is drawn: lengths are doubled on a PNG (drawn large, then averaged down).
#[derive(Debug, Clone, Copy)]
enum Canvas {
    Png,
    Svg,
}

/// The pixel offsets of a round brush `width` pixels across.
fn brush(width: u32) -> impl Iterator<Item = (i32, i32)> {
    let r = width as i32 / 2;
    let r2 = f64::from(width).powi(2) / 4.0;
    (-r..=r)
        .flat_map(move |dx| (-r..=r).map(move |dy| (dx, dy)))
        .filter(move |&(dx, dy)| f64::from(dx * dx + dy * dy) <= r2)
}

/// Averages each `k` × `k` block of an RGB image `k` times `w` × `h` into one pixel.
fn downsample(big: &[u8], w: usize, h: usize, k: usize) -> Vec<u8> {
    let mut small = vec![0u8; w * h * 3];
    let n = (k * k) as u32;
    for (i, px) in small.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i % w, i / w);
        for (c, out) in px.iter_mut().enumerate() {
            let mut sum = 0u32;
            for dy in 0..k {
                let row = (y * k + dy) * w * k;
                sum += (0..k).map(|dx| u32::from(big[(row + x * k + dx) * 3 + c])).sum::<u32>();
            }
            *out = ((sum + n / 2) / n) as u8;
        }
    }
    small
}

/// An [`Error::Io`] from writing the file as an [`Error::Plot`] (its path is already the target's).
fn io_to_plot(e: Error, fail: impl Fn(String) -> Error) -> Error {
    match e {
        Error::Io { err, .. } => fail(err.to_string()),
        other => other,
    }
}

/// Registers the embedded font with plotters, once per process.
fn register_font() -> std::result::Result<(), String> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(()).ok_or_else(|| "the embedded DejaVu Sans font cannot be read".to_string())
}

/// A hidden `.png` file beside the target, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn beside(path: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Scratch(path.with_file_name(format!(".{name}.render.{}.{n}.png", std::process::id())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Consecutive finite points of one series, drawn as one line.
type Run = Vec<(f64, f64)>;

/// Writes an axis' tick labels.
type Labels<'a> = Box<dyn Fn(&f64) -> String + 'a>;

/// The data as drawn: finite points in chart coordinates (log10 of y on a log axis), split into
/// runs at non-finite points, and the padded extent of everything.
struct Prepared {
    /// (series index, runs of points) for each series with at least one finite point.
    lines: Vec<(usize, Vec<Run>)>,
    /// The marker line's x, when finite.
    marker: Option<f64>,
    x: Extent,
    y: Extent,
    log: bool,
    note: Option<&'static str>,
}

impl Prepared {
    fn new(plot: &LinePlot) -> Self {
        let finite = |&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite();
        let all = || plot.series.iter().flat_map(|s| s.points.iter()).filter(finite);
        let log = plot.log_y && all().all(|&(_, y)| y > 0.0);
        let note = (plot.log_y && !log).then_some("linear: some values ≤ 0");
        let clamp = |v: f64| v.clamp(-LIMIT, LIMIT);
        let lines: Vec<_> = plot
            .series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let mut runs = vec![Vec::new()];
                for &(x, y) in &s.points {
                    let y = if log { y.log10() } else { y };
                    match runs.last_mut() {
                        Some(run) if x.is_finite() && y.is_finite() => run.push((clamp(x), clamp(y))),
                        Some(run) if !run.is_empty() => runs.push(Vec::new()),
                        _ => {}
                    }
                }
                runs.retain(|r| !r.is_empty());
                (!runs.is_empty()).then_some((i, runs))
            })
            .collect();
        let points = || lines.iter().flat_map(|(_, runs)| runs.iter().flatten());
        let mut xs = Extent::of(points().map(|p| p.0));
        let marker = plot.marker_x.as_ref().map(|m| m.0).filter(|x| x.is_finite()).map(clamp);
        if let Some(mx) = marker {
            xs = xs.with(mx);
        }
        if let Some(dates) = plot.x_dates.as_ref().filter(|d| !d.is_empty())
            && xs.0.is_none()
        {
            xs = Extent::of([0.0, (dates.len() - 1) as f64].into_iter());
        }
        let ys = Extent::of(points().map(|p| p.1));
        Prepared { x: xs.padded(0.02), y: ys.padded(0.06), lines, marker, log, note }
    }

    /// The corner whose legend box (`size` pixels, on a plotting area of `area` pixels) would
    /// cover the fewest samples of the lines and the marker.
    fn legend_corner(&self, size: (f64, f64), area: (u32, u32)) -> SeriesLabelPosition {
        let bw = (size.0 / f64::from(area.0.max(1))).min(1.0);
        let bh = (size.1 / f64::from(area.1.max(1))).min(1.0);
        let (Some((x0, x1)), Some((y0, y1))) = (self.x.0, self.y.0) else {
            return SeriesLabelPosition::UpperRight;
        };
        let norm = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
        let mut samples = Vec::new();
        for (_, runs) in &self.lines {
            for run in runs {
                samples.push(norm(run[0]));
                for pair in run.windows(2) {
                    let (a, b) = (norm(pair[0]), norm(pair[1]));
                    samples.extend((1..=16).map(|k| {
                        let t = f64::from(k) / 16.0;
                        (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
                    }));
                }
            }
        }
        if let Some(mx) = self.marker {
            let mx = norm((mx, y0)).0;
            samples.extend((0..=40).map(|k| (mx, f64::from(k) / 40.0)));
        }
        let corners = [
            (SeriesLabelPosition::UpperRight, 1.0 - bw, 1.0 - bh),
            (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - bh),
            (SeriesLabelPosition::LowerRight, 1.0 - bw, 0.0),
            (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
        ];
        let covered = |&(_, cx, cy): &(SeriesLabelPosition, f64, f64)| {
            samples.iter().filter(|&&(x, y)| x >= cx && x <= cx + bw && y >= cy && y <= cy + bh).count()
        };
        let best = (0..corners.len()).min_by_key(|&k| covered(&corners[k])).unwrap_or(0);
        corners.into_iter().nth(best).map_or(SeriesLabelPosition::UpperRight, |c| c.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    /// Checks the PNG signature and the IHDR size; returns the SVG text.
    fn check_files(png: &Path, svg: &Path) -> String {
        let b = fs::read(png).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&b[12..16], b"IHDR");
        assert_eq!((u32_at(&b, 16), u32_at(&b, 20)), SIZE);
        let s = fs::read_to_string(svg).unwrap();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"), "{}", &s[..100.min(s.len())]);
        s
    }

    /// Whether the SVG has a `<text>` element reading `t` (plotters writes it on a line of its own).
    fn has_text(svg: &str, t: &str) -> bool {
        svg.contains(&format!(">\n{t}\n</text>"))
    }

    fn hex(c: RGBColor) -> String {
        format!("stroke=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2)
    }

    /// Polylines of colour `c` with more than 2 points (legend glyphs have 2).
    fn lines_of(svg: &str, c: RGBColor) -> usize {
        let stroke = hex(c);
        svg.split("<polyline").skip(1).filter(|p| p.contains(&stroke) && p.matches(',').count() > 2).count()
    }

    fn loss_plot() -> LinePlot {
        let train: Vec<f64> = (1..=30).map(|e| 0.02 + 0.9 * (-(e as f64) / 6.0).exp()).collect();
        LinePlot::new("Training <loss> & more", "epoch", "loss")
            .with_series([Series::solid(
                "train",
                train.iter().enumerate().map(|(i, &y)| (i as f64 + 1.0, y)).collect(),
            )])
            .with_series([Series::solid("empty", vec![])])
            .with_series([Series::solid("validation", (1..=30).map(|e| (e as f64, 0.05 + 1.0 / e as f64)).collect())])
            .with_log_y(true)
    }

    #[test]
    fn writes_png_and_svg_with_title_and_one_line_per_nonempty_series() {
        let dir = tempfile::tempdir().unwrap();
        let (png, svg) = loss_plot().save(&dir.path().join("loss.v1")).unwrap();
        assert_eq!(png, dir.path().join("loss.v1.png"));
        assert_eq!(svg, dir.path().join("loss.v1.svg"));
        let s = check_files(&png, &svg);
        assert!(has_text(&s, "Training &lt;loss&gt; &amp; more"), "title missing");
        assert!(s.contains("font-family=\"sans-serif\""));
        assert_eq!(lines_of(&s, PALETTE[0]), 1);
        assert_eq!(lines_of(&s, PALETTE[1]), 0, "the empty series draws nothing");
        assert_eq!(lines_of(&s, PALETTE[2]), 1);
        assert!(has_text(&s, "train") && has_text(&s, "validation"), "legend names");
        assert!(!has_text(&s, "empty"), "no legend entry for an empty series");
        // Atomic: nothing but the two files is left in the folder.
        let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["loss.v1.png", "loss.v1.svg"]);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        let cases: Vec<LinePlot> = vec![
            LinePlot::default(),
            LinePlot::new("empty", "x", "y").with_series([Series::solid("a", vec![])]).with_log_y(true),
            LinePlot::new("nan", "x", "y").with_series([Series::from_values("a", &[nan, inf, -inf])]),
            LinePlot::new("one", "x", "y").with_series([Series::solid("a", vec![(3.0, 7.0)])]),
            LinePlot::new("flat", "x", "y").with_series([Series::from_values("a", &[2.5; 10])]),
            LinePlot::new("zero", "x", "y").with_series([Series::from_values("a", &[0.0; 4])]).with_log_y(true),
            LinePlot::new("neg log", "x", "y")
                .with_series([Series::from_values("a", &[1.0, -1.0, 3.0])])
                .with_log_y(true),
            LinePlot::new("huge", "x", "y")
                .with_series([Series::solid("a", vec![(-f64::MAX, f64::MAX), (f64::MAX, -f64::MAX), (0.0, 1e-300)])]),
            LinePlot::new("tiny", "x", "y").with_series([Series::from_values("a", &[1.0, 1.0 + 1e-15, 1.0])]),
            LinePlot::new("subnormal", "x", "y").with_series([Series::from_values("a", &[0.0, 5e-324])]),
            LinePlot::new("log wide", "x", "y")
                .with_series([Series::from_values("a", &[1e-300, 1e300, nan, 1.0]).with_style(LineStyle::Dotted)])
                .with_log_y(true),
            LinePlot::new("gaps", "x", "y")
                .with_series([Series::from_values("a", &[1.0, nan, 2.0, 3.0, nan, 4.0]).with_style(LineStyle::Dashed)])
                .with_dates(vec![])
                .with_marker(nan, "bad marker"),
            LinePlot::new("dates", "", "")
                .with_series([Series::from_values("", &[1.0, 2.0])])
                .with_dates(vec!["2024-01-01".into()])
                .with_marker(1e6, "far marker"),
        ];
        for (k, plot) in cases.iter().enumerate() {
            let (png, svg) = plot.save(&dir.path().join(format!("case{k}"))).unwrap();
            let s = check_files(&png, &svg);
            assert!(plot.title.is_empty() || has_text(&s, &plot.title), "case {k}");
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2 * cases.len());
    }

    #[test]
    fn gaps_split_the_line_and_log_falls_back_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let plot = LinePlot::new("t", "x", "value")
            .with_series([Series::from_values("a", &[1.0, 2.0, 3.0, f64::NAN, 4.0, 5.0, -1.0])])
            .with_log_y(true);
        let (png, svg) = plot.save(&dir.path().join("p")).unwrap();
        let s = check_files(&png, &svg);
        assert_eq!(lines_of(&s, PALETTE[0]), 2);
        assert!(has_text(&s, "value (linear: some values ≤ 0)"));
    }

    #[test]
    fn missing_folder_is_a_plot_error_naming_the_file() {
        let err = loss_plot().save_png(Path::new("/nonexistent-dir/x.png")).unwrap_err();
        assert!(matches!(err, Error::Plot { .. }), "{err:?}");
        assert!(err.to_string().starts_with("/nonexistent-dir/x.png: "), "{err}");
        assert_eq!(err.to_string(), "/nonexistent-dir/x.png: No such file or directory (os error 2)");
        let err = loss_plot().save_svg(Path::new("/nonexistent-dir/x.svg")).unwrap_err();
        assert!(matches!(err, Error::Plot { .. }), "{err:?}");
        assert_eq!(err.to_string(), "/nonexistent-dir/x.svg: No such file or directory (os error 2)");
    }

    #[test]
    fn tick_labels() {
        let f = LinearFmt::new(&[0.0, 0.25, 0.5]);
        assert_eq!([f.format(0.0), f.format(0.25), f.format(1e-17)], ["0.00", "0.25", "0.00"]);
        let f = LinearFmt::new(&[1e6, 2e6]);
        assert_eq!(f.format(2e6), "2e6");
        assert_eq!(format_log(0.02f64.log10()), "0.02");
        assert_eq!(format_log(-5.0), "1e-5");
        assert_eq!(format_log(6.0), "1e6");
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(multiples(0.1, 1.0, 0.25), [0.25, 0.5, 0.75, 1.0]);
    }
}
