//! Line charts (training curves, forecasts, gradient norms) and heatmaps, written as PNG and SVG.
//!
//! Pure Rust from end to end: `plotters` draws, its bitmap backend encodes the PNG, and text is
//! rasterised by `ab_glyph` from DejaVu Sans, embedded in the library (`assets/fonts/`), so
//! nothing is needed from the system at build or run time. SVG files name the font family
//! `sans-serif` and leave the text to the viewer's fonts.
//!
//! Whatever the data, drawing does not panic: non-finite points are skipped (a line breaks
//! there), empty series are left out, one point or all-equal values get a padded axis, and a
//! log axis over data with values ≤ 0 falls back to a linear one, saying so in the axis title
//! (or leaves those points out, with [`NonPositive::Skip`]).
//!
//! A log y axis labels every decade over up to 8 decades, every 2nd, 5th, 10th, ... over more
//! (with unlabelled grid lines at the decades between, up to 40), adds 2× and 5× under 3.5
//! decades and linear steps within about one; never fewer than 3 labels. Lines take their colour
//! from their index (10 colours) unless set with [`Series::with_color`]; with more than 10 lines,
//! give each colour and style: e.g. colour by layer and [`LineStyle`] by model. The legend goes in
//! the corner where it covers no line, or, when every corner would, beside the plot.
//!
//! [`Heatmap`] draws a matrix (e.g. a gradient norm per layer and time step) on a log colour
//! scale with a colour bar.
//!
//! The files: this one (the chart's description), `draw` (laying it out with `plotters`),
//! `legend` (where the legend goes, and the one beside the plot), `save` (the PNG and SVG
//! files), `axis` (ranges and tick labels), `heatmap` and `heatmap_draw` (the heatmap),
//! `colormap` (viridis).
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
mod band;
mod colormap;
mod draw;
mod heatmap;
mod heatmap_draw;
mod legend;
mod save;

use axis::*;
pub use band::Band;
pub use colormap::viridis;
pub use heatmap::{ColorScale, Heatmap, layer_labels};

/// Width and height in pixels of every chart (PNG pixels, SVG user units).
pub const SIZE: (u32, u32) = (1000, 600);
/// PNGs are drawn this many times larger, then averaged down (anti-aliasing).
pub const SUPERSAMPLE: u32 = 2;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/fonts/`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The one font family the charts use; plotters' own defaults ask for it too.
const FAMILY: &str = "sans-serif";

/// Line colours, by series index (matplotlib's "tab10").
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const TEXT: RGBColor = RGBColor(40, 40, 40);
const MARKER: RGBColor = RGBColor(80, 80, 80);
const FAINT: RGBColor = RGBColor(120, 120, 120);
/// Finite values beyond this are clamped, so that spans and pixel maps stay finite.
const LIMIT: f64 = 1e300;

/// How a series' line is drawn.
///
/// # Example
/// ```
/// use rnn::plot::{LineStyle, Series};
/// let styles = [LineStyle::Solid, LineStyle::Dashed, LineStyle::Dotted, LineStyle::DashDot];
/// let lines: Vec<Series> = styles.iter().map(|s| Series::from_values("model", &[1.0, 2.0]).with_style(*s)).collect();
/// assert_eq!(lines[3].style, LineStyle::DashDot);
/// assert_eq!(LineStyle::default(), LineStyle::Solid);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineStyle {
    /// A continuous line.
    #[default]
    Solid,
    /// Long dashes.
    Dashed,
    /// Short dashes, close together.
    Dotted,
    /// Long dashes with a dot between.
    DashDot,
}

/// What a log y axis does when some values are ≤ 0, which have no logarithm.
///
/// # Example
/// ```
/// use rnn::plot::{LinePlot, NonPositive, Series};
/// let path = std::env::temp_dir().join(format!("rnn-doc-nonpositive-{}.svg", std::process::id()));
/// let norms = [1.0, 0.1, 0.0, 0.001]; // one norm underflowed to 0
/// let plot = LinePlot::new("", "lag", "norm").with_series([Series::from_values("h", &norms)]).with_log_y(true);
/// plot.clone().with_nonpositive(NonPositive::Skip).save_svg(&path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("1 value"), "the axis title says how many were left out");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonPositive {
    /// The y axis turns linear, and its title says so.
    #[default]
    Linear,
    /// Those points are left out (the line breaks there), and the y axis title says how many.
    Skip,
}

/// One named line: its points `(x, y)` in drawing order; a non-finite point breaks the line.
///
/// # Example
/// ```
/// use rnn::plot::{LineStyle, Series};
/// let s = Series::from_values("loss", &[3.0, 2.0, 1.5]);
/// assert_eq!(s.points, [(0.0, 3.0), (1.0, 2.0), (2.0, 1.5)]);
/// assert_eq!((s.style, s.color), (LineStyle::Solid, None));
/// let d = Series::dashed("val", vec![(1.0, 2.0)]).with_color(3);
/// assert_eq!((d.style, d.color), (LineStyle::Dashed, Some(3)));
/// assert_eq!(Series::dotted("x", vec![]).with_style(LineStyle::DashDot).style, LineStyle::DashDot);
/// assert_eq!(Series::solid("y", vec![(0.0, 1.0)]).name, "y");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The legend entry (none when empty).
    pub name: String,
    /// The points; NaN or infinite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// Solid, dashed, dotted or dash-dot.
    pub style: LineStyle,
    /// The colour's index in the palette of 10 (taken modulo 10); `None`: the series' index.
    pub color: Option<usize>,
}

impl Series {
    /// A solid line through `points`.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LineStyle, Series};
    /// let s = Series::solid("train", vec![(1.0, 0.9), (2.0, 0.5)]);
    /// assert_eq!((s.name.as_str(), s.style, s.points.len()), ("train", LineStyle::Solid, 2));
    /// ```
    pub fn solid(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, style: LineStyle::Solid, color: None }
    }

    /// A dashed line through `points`.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LineStyle, Series};
    /// let val = Series::dashed("validation", vec![(1.0, 1.1), (2.0, 0.7)]);
    /// assert_eq!(val.style, LineStyle::Dashed);
    /// ```
    pub fn dashed(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::solid(name, points).with_style(LineStyle::Dashed)
    }

    /// A dotted line through `points`.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LineStyle, Series};
    /// let baseline = Series::dotted("persistence", vec![(0.0, 1.0), (5.0, 1.0)]);
    /// assert_eq!(baseline.style, LineStyle::Dotted);
    /// ```
    pub fn dotted(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::solid(name, points).with_style(LineStyle::Dotted)
    }

    /// A solid line through `(i, values[i])`: x is the index (into [`LinePlot::x_dates`] when set).
    ///
    /// # Example
    /// ```
    /// use rnn::plot::Series;
    /// let s = Series::from_values("loss", &[0.9, 0.5, 0.4]);
    /// assert_eq!(s.points, [(0.0, 0.9), (1.0, 0.5), (2.0, 0.4)]);
    /// ```
    pub fn from_values(name: impl Into<String>, values: &[f64]) -> Self {
        Series::solid(name, values.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect())
    }

    /// The same series drawn with `style`.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LineStyle, Series};
    /// let s = Series::from_values("forecast", &[1.0, 2.0]).with_style(LineStyle::DashDot);
    /// assert_eq!(s.style, LineStyle::DashDot);
    /// ```
    pub fn with_style(mut self, style: LineStyle) -> Self {
        self.style = style;
        self
    }

    /// The same series in palette colour `index` (modulo 10) instead of its index's colour:
    /// lines that belong together (one layer in several models) can share a colour.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::Series;
    /// // one model's train and validation curves in the same colour
    /// let train = Series::from_values("A train", &[0.9, 0.5]).with_color(2);
    /// let val = Series::dashed("A val", vec![(0.0, 1.0), (1.0, 0.6)]).with_color(2);
    /// assert_eq!(train.color, val.color);
    /// ```
    pub fn with_color(mut self, index: usize) -> Self {
        self.color = Some(index);
        self
    }
}

/// A line chart: titled axes, a light grid, a legend in the emptiest corner.
///
/// # Example
/// ```
/// use rnn::plot::{LinePlot, NonPositive, Series};
/// let dir = std::env::temp_dir().join(format!("rnn-doc-lineplot-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let dates: Vec<String> = (1..=12).map(|m| format!("2024-{m:02}")).collect();
/// let norms: Vec<f64> = (0..12).map(|t| if t == 3 { 0.0 } else { 10f64.powi(-t) }).collect();
/// let plot = LinePlot::new("Gradient norm", "month", "norm")
///     .with_series([Series::from_values("layer 0", &norms)])
///     .with_dates(dates)
///     .with_marker(8.0, "test split")
///     .with_log_y(true)
///     .with_nonpositive(NonPositive::Skip); // the 0 is left out, the axis stays logarithmic
/// plot.save_svg(&dir.join("norms.svg"))?;
/// let svg = std::fs::read_to_string(dir.join("norms.svg"))?;
/// assert!(svg.contains("Gradient norm") && svg.contains("test split"));
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// A logarithmic y axis (see [`LinePlot::nonpositive`] for values ≤ 0).
    pub log_y: bool,
    /// On a log y axis, what values ≤ 0 do: turn the axis linear (the default) or are left out.
    pub nonpositive: NonPositive,
    /// Tick labels for x: x is an index into this list (e.g. the dates of a forecast).
    pub x_dates: Option<Vec<String>>,
    /// A dashed vertical line at x with a label, e.g. `(split, "test split")`.
    pub marker_x: Option<(f64, String)>,
    /// Shaded areas drawn under the lines, in order (later ones over earlier ones).
    pub bands: Vec<Band>,
}

impl LinePlot {
    /// An empty chart with a title and axis titles.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::LinePlot;
    /// let plot = LinePlot::new("Training loss", "epoch", "loss");
    /// assert_eq!((plot.title.as_str(), plot.x_label.as_str(), plot.y_label.as_str()), ("Training loss", "epoch", "loss"));
    /// assert!(plot.series.is_empty() && !plot.log_y);
    /// ```
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePlot { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..LinePlot::default() }
    }

    /// Appends lines: a `Vec`, an array, or an `Option` of [`Series`].
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LinePlot, Series};
    /// let validation: Option<Series> = None; // e.g. a run without a validation split
    /// let plot = LinePlot::new("Loss", "epoch", "loss")
    ///     .with_series([Series::from_values("train", &[0.9, 0.5])])
    ///     .with_series(validation);
    /// assert_eq!(plot.series.len(), 1);
    /// ```
    pub fn with_series(mut self, series: impl IntoIterator<Item = Series>) -> Self {
        self.series.extend(series);
        self
    }

    /// Appends shaded bands (e.g. prediction intervals), drawn under every line: a `Vec`, an
    /// array, or an `Option` of [`Band`]; see [`Band`] for an example.
    pub fn with_bands(mut self, bands: impl IntoIterator<Item = Band>) -> Self {
        self.bands.extend(bands);
        self
    }

    /// Sets a logarithmic y axis.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::LinePlot;
    /// assert!(LinePlot::new("Gradient norm", "step", "norm").with_log_y(true).log_y);
    /// ```
    pub fn with_log_y(mut self, log_y: bool) -> Self {
        self.log_y = log_y;
        self
    }

    /// Sets what a log y axis does with values ≤ 0 (e.g. a gradient norm that underflowed to 0):
    /// [`NonPositive::Skip`] leaves them out and keeps the axis logarithmic.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LinePlot, NonPositive};
    /// let plot = LinePlot::new("Gradient norm", "lag", "norm").with_log_y(true).with_nonpositive(NonPositive::Skip);
    /// assert_eq!(plot.nonpositive, NonPositive::Skip);
    /// assert_ne!(NonPositive::default(), NonPositive::Skip); // by default the axis turns linear
    /// ```
    pub fn with_nonpositive(mut self, nonpositive: NonPositive) -> Self {
        self.nonpositive = nonpositive;
        self
    }

    /// Labels x tick `i` with `dates[i]`.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LinePlot, Series};
    /// let dates: Vec<String> = ["2024-01", "2024-02", "2024-03"].map(String::from).to_vec();
    /// let plot = LinePlot::new("Sales", "month", "units").with_series([Series::from_values("sales", &[3.0, 4.0, 5.0])]).with_dates(dates);
    /// assert_eq!(plot.x_dates.as_deref().map(|d| d[2].as_str()), Some("2024-03"));
    /// ```
    pub fn with_dates(mut self, dates: Vec<String>) -> Self {
        self.x_dates = Some(dates);
        self
    }

    /// Adds a dashed vertical line at `x`, labelled.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::LinePlot;
    /// let plot = LinePlot::new("Forecast", "t", "y").with_marker(48.0, "forecast start");
    /// assert_eq!(plot.marker_x, Some((48.0, "forecast start".to_string())));
    /// ```
    pub fn with_marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.marker_x = Some((x, label.into()));
        self
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
        check_files_sized(png, svg, SIZE)
    }

    /// As `check_files`, for a picture of `size` pixels.
    pub(super) fn check_files_sized(png: &Path, svg: &Path, size: (u32, u32)) -> String {
        let b = fs::read(png).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&b[12..16], b"IHDR");
        assert_eq!((u32_at(&b, 16), u32_at(&b, 20)), size);
        let end = b.len().saturating_sub(12);
        assert_eq!(&b[end + 4..end + 8], b"IEND", "a complete PNG");
        let s = fs::read_to_string(svg).unwrap();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"), "{}", &s[..100.min(s.len())]);
        s
    }

    /// Whether the SVG has a `<text>` element reading `t` (plotters writes it on a line of its own).
    pub(super) fn has_text(svg: &str, t: &str) -> bool {
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
            LinePlot::new("zeros skipped", "x", "y")
                .with_series([Series::from_values("a", &[0.0, -1.0, 0.0]).with_style(LineStyle::DashDot)])
                .with_log_y(true)
                .with_nonpositive(NonPositive::Skip),
            LinePlot::new("dash-dot gaps", "x", "y")
                .with_series([Series::from_values("a", &[1.0, 0.0, 2.0, f64::NAN, 3.0, 4.0, 1e-300])
                    .with_style(LineStyle::DashDot)
                    .with_color(usize::MAX)])
                .with_log_y(true)
                .with_nonpositive(NonPositive::Skip),
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

    /// The x of the `<text>` element reading `t`.
    fn text_x(svg: &str, t: &str) -> i32 {
        let end = svg.find(&format!(">\n{t}\n</text>")).unwrap();
        let start = svg[..end].rfind("<text x=\"").unwrap() + 9;
        svg[start..].split('"').next().unwrap().parse().unwrap()
    }

    /// The right edge of the plotting area: the frame's polyline (3 points, the axis' grey).
    fn frame_right(svg: &str) -> i32 {
        let frame = svg.split("<polyline").find(|p| p.contains("opacity=\"0.55\"") && p.matches(',').count() == 3);
        let points = frame.unwrap().split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        points.split([' ', ',']).filter_map(|v| v.parse().ok()).step_by(2).max().unwrap()
    }

    /// Gradient norms against time lag: per layer, per model.
    fn lag_plot(models: usize, layers: usize) -> LinePlot {
        let styles = [LineStyle::Solid, LineStyle::Dashed, LineStyle::Dotted, LineStyle::DashDot];
        let series = (0..models).flat_map(|m| {
            (0..layers).map(move |l| {
                let rate = 0.05 + 0.02 * l as f64 + 0.01 * m as f64;
                let points = (0..120).map(|lag| (lag as f64, 10f64.powf(5.0 - lag as f64 * rate))).collect();
                Series::solid(format!("model {m} layer {l}"), points).with_color(l).with_style(styles[m % 4])
            })
        });
        LinePlot::new("Gradient norm against time lag", "time lag", "‖dL/dh_t‖").with_series(series).with_log_y(true)
    }

    #[test]
    fn gradient_norms_over_25_decades_with_16_lines_and_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let mut plot = lag_plot(2, 8);
        // Norms that underflowed to 0 at the longest lags, and a NaN.
        plot.series[15].points.extend([(120.0, 0.0), (121.0, 0.0), (122.0, f64::NAN)]);
        plot.series[3].points[5].1 = 0.0;
        let plot = plot.with_nonpositive(NonPositive::Skip);
        let (png, svg) = plot.save(&dir.path().join("lag")).unwrap();
        let s = check_files(&png, &svg);
        assert!(has_text(&s, "‖dL/dh_t‖ (3 values ≤ 0 not drawn)"), "the axis stays logarithmic");
        for label in ["1e-20", "1e-15", "1e-10", "1e-5", "1", "1e5"] {
            assert!(has_text(&s, label), "tick {label}");
        }
        // Colour by layer: 8 layers, 8 colours, each shared by a solid and a dashed line.
        assert!(s.contains(&hex(PALETTE[7])), "8 layers, 8 colours");
        assert!(!s.contains(&hex(PALETTE[8])), "no colour past the layers");
        // 16 entries cover data in every corner: the legend stands beside the plot.
        let right = frame_right(&s);
        for m in 0..2 {
            for l in 0..8 {
                assert!(text_x(&s, &format!("model {m} layer {l}")) > right, "legend entry {m} {l} beside");
            }
        }
    }

    #[test]
    fn few_lines_keep_the_legend_in_a_corner_and_dash_dot_draws_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let plot = lag_plot(4, 1);
        let (png, svg) = plot.save(&dir.path().join("few")).unwrap();
        let s = check_files(&png, &svg);
        let right = frame_right(&s);
        assert!((0..4).all(|m| text_x(&s, &format!("model {m} layer 0")) < right), "legend inside");
        // All four share colour 0; the dash-dot line is cut into many pieces (with the glyph's).
        assert!(lines_of(&s, PALETTE[0]) >= 1);
        let pieces = s.split("<polyline").filter(|p| p.contains(&hex(PALETTE[0]))).count();
        assert!(pieces > 20, "{pieces}");
    }

    #[test]
    fn dash_patterns_cut_lines() {
        use super::draw::{cut, pattern_of};
        assert_eq!(cut(&[(0, 0), (30, 0)], &[]), [vec![(0, 0), (30, 0)]]);
        let pieces = cut(&[(0, 0), (30, 0)], &pattern_of(LineStyle::DashDot, 1.0));
        assert_eq!(pieces, [vec![(0, 0), (10, 0)], vec![(14, 0), (16, 0)], vec![(20, 0), (30, 0)]]);
        // Around a corner, a dash keeps its length.
        let pieces = cut(&[(0, 0), (6, 0), (6, 20)], &[10, 5]);
        assert_eq!(pieces, [vec![(0, 0), (6, 0), (6, 4)], vec![(6, 9), (6, 19)]]);
        assert!(cut(&[(3, 3)], &[10, 5]).is_empty());
        assert!(cut(&[], &[10, 5]).is_empty());
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
}
