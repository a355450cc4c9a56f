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
//! The files: this one (the chart's description), `draw` (laying it out with `plotters`),
//! `save` (the PNG and SVG files), `axis` (ranges and tick labels).
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
mod draw;
mod save;

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
}
