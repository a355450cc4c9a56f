//! A heatmap: a matrix of values (rows: labelled categories such as layers; columns: time
//! steps) drawn as coloured cells, with a colour bar.
//!
//! Made for gradient diagnostics: per layer and time step, a gradient norm that can span from
//! 1e-12 to 1e3, so the colour scale is logarithmic by default, with viridis colours (dark purple
//! for the smallest, yellow for the largest), and the colour bar is labelled at powers of ten.
//! Cells with no colour on the scale (0 or negative on a log scale, NaN or infinite on any) are
//! light grey, and a note under the colour bar says so and counts them.
//!
//! Narrow cells: each pixel column of the drawing is the maximum of the time steps it covers (a
//! NaN or infinite value outranks every number, so it is never hidden), and likewise each pixel
//! row for the matrix rows, so 5000 steps on 800 pixels lose no spike. Wider cells are drawn
//! whole, each pixel taking the cell under its centre.

use ndarray::Array2;

use super::save::{write_both, write_png, write_svg};
use super::*;

/// How a [`Heatmap`] maps values to colours.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use rnn::plot::{ColorScale, Heatmap};
/// let path = std::env::temp_dir().join(format!("rnn-doc-heatmap-{}.svg", std::process::id()));
/// let values = Array2::from_shape_fn((3, 20), |(r, t)| (r * 20 + t) as f64 - 10.0); // negatives too
/// let map = Heatmap::new("Activations", values)
///     .with_scale(ColorScale::Linear)
///     .with_range(-10.0, 50.0)
///     .with_axis_labels("step", "unit")
///     .with_value_label("a");
/// assert_eq!(map.size().0, 1000);
/// map.save_svg(&path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("Activations"));
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorScale {
    /// log10 of the value: equal ratios, equal colour steps; values ≤ 0 are grey (the default).
    #[default]
    Log,
    /// The value itself.
    Linear,
}

/// A matrix drawn as coloured cells: row `r` (labelled, top to bottom), column `t` (time step).
///
/// | Field | Default | Purpose |
/// | --- | --- | --- |
/// | `title` | (given) | drawn above |
/// | `values` | (given) | `[rows, steps]`, e.g. [`GradFlow::h`](crate::nn::flow::GradFlow) |
/// | `row_labels` | row indices | one per row, e.g. from [`layer_labels`] |
/// | `x_label` | `time step` | the x axis' title |
/// | `y_label` | `layer` | the y axis' title |
/// | `value_label` | `value` | the colour bar's title, e.g. `‖dL/dh_t‖` |
/// | `scale` | [`ColorScale::Log`] | |
/// | `range` | the data's | the values at the two ends of the colour bar |
///
/// The picture is [`Heatmap::size`]: 1000 pixels wide, taller with more rows.
///
/// ```
/// use ndarray::Array2;
/// use rnn::plot::{Heatmap, layer_labels};
///
/// // Gradient norms of a 2-layer bidirectional RNN over 60 steps, shrinking 10× every 5 steps
/// // back from the end; one step underflowed to 0 (drawn grey).
/// let mut norms = Array2::from_shape_fn((4, 60), |(r, t)| 10f64.powf((t as f64 - 59.0) / 5.0 + r as f64));
/// norms[[3, 0]] = 0.0;
/// let map = Heatmap::new("Gradient flow", norms)
///     .with_row_labels(layer_labels(2, 2)) // "layer 0", "layer 0 reverse", "layer 1", ...
///     .with_value_label("‖dL/dh_t‖");
/// let dir = tempfile::tempdir().unwrap();
/// let (png, svg) = map.save(&dir.path().join("flow"))?; // flow.png and flow.svg
/// assert!(png.exists() && svg.exists());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Drawn above the picture (nothing when empty).
    pub title: String,
    /// `[rows, steps]`: the value of each cell.
    pub values: Array2<f64>,
    /// One label per row, top to bottom; empty: the row indices.
    pub row_labels: Vec<String>,
    /// The x axis' title.
    pub x_label: String,
    /// The y axis' title.
    pub y_label: String,
    /// The colour bar's title: what the values are.
    pub value_label: String,
    /// Logarithmic or linear colours.
    pub scale: ColorScale,
    /// The values at the bottom and top of the colour bar (values beyond take the end colours);
    /// `None`: from the data, widened to whole decades on a log scale.
    pub range: Option<(f64, f64)>,
}

impl Heatmap {
    /// A heatmap of `values` (`[rows, steps]`) on a log colour scale, rows labelled by index.
    pub fn new(title: impl Into<String>, values: Array2<f64>) -> Self {
        Heatmap {
            title: title.into(),
            values,
            row_labels: Vec::new(),
            x_label: "time step".into(),
            y_label: "layer".into(),
            value_label: "value".into(),
            scale: ColorScale::Log,
            range: None,
        }
    }

    /// Labels the rows, top to bottom (one label per row, checked when saving).
    pub fn with_row_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.row_labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the axis titles (defaults: `time step`, `layer`).
    pub fn with_axis_labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// Sets the colour bar's title (default `value`).
    pub fn with_value_label(mut self, name: impl Into<String>) -> Self {
        self.value_label = name.into();
        self
    }

    /// Sets a log (default) or linear colour scale.
    pub fn with_scale(mut self, scale: ColorScale) -> Self {
        self.scale = scale;
        self
    }

    /// Fixes the values at the ends of the colour bar, e.g. to compare heatmaps on one scale
    /// (checked when saving: `0 < min < max` on a log scale, `min < max` on a linear one).
    pub fn with_range(mut self, min: f64, max: f64) -> Self {
        self.range = Some((min, max));
        self
    }

    /// The picture's width and height in pixels: 1000 wide; 18 pixels a row plus the frame,
    /// from 400 to 1200 high (beyond 56 rows, rows get thinner and only some are labelled).
    pub fn size(&self) -> (u32, u32) {
        let rows = u32::try_from(self.values.nrows()).unwrap_or(u32::MAX);
        (SIZE.0, rows.saturating_mul(18).saturating_add(190).clamp(400, 1200))
    }

    /// Writes the heatmap as a PNG to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Shape`] when the row labels do not match the rows, [`Error::Config`] for a bad
    /// range, [`Error::Plot`] naming `path` when drawing or writing fails.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
    /// use rnn::plot::Heatmap;
    /// let path = std::env::temp_dir().join(format!("rnn-doc-heatmap-png-{}.png", std::process::id()));
    /// let map = Heatmap::new("", Array2::from_elem((2, 5), 1.0)).with_row_labels(["a", "b"]);
    /// map.save_png(&path)?;
    /// assert_eq!(&std::fs::read(&path)?[1..4], b"PNG");
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_png(&self, path: &Path) -> Result<()> {
        self.check()?;
        write_png(self, path)
    }

    /// Writes the heatmap as an SVG to `path`, atomically (the cells as one embedded image).
    ///
    /// # Errors
    /// As [`Heatmap::save_png`].
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
    /// use rnn::plot::Heatmap;
    /// let path = std::env::temp_dir().join(format!("rnn-doc-heatmap-svg-{}.svg", std::process::id()));
    /// // 0 and NaN cells are grey and counted under the colour bar; nothing panics
    /// let values = Array2::from_shape_vec((1, 3), vec![1.0, 0.0, f64::NAN])?;
    /// Heatmap::new("Norms", values).save_svg(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("Norms"));
    /// std::fs::remove_file(&path)?;
    /// assert!(Heatmap::new("", Array2::zeros((1, 1))).save_svg("/nonexistent-dir/h.svg".as_ref()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_svg(&self, path: &Path) -> Result<()> {
        self.check()?;
        write_svg(self, path)
    }

    /// Writes `<stem>.png` and `<stem>.svg` (the suffixes are appended); returns both paths.
    ///
    /// # Errors
    /// As [`Heatmap::save_png`].
    pub fn save(&self, stem: &Path) -> Result<(PathBuf, PathBuf)> {
        self.check()?;
        write_both(self, stem)
    }

    /// Checks the row labels and the range.
    fn check(&self) -> Result<()> {
        let rows = self.values.nrows();
        if !self.row_labels.is_empty() && self.row_labels.len() != rows {
            let expected = format!("[{rows}] (one per row of the heatmap)");
            return Err(Error::shape("heatmap row labels", expected, &[self.row_labels.len()]));
        }
        if let Some((lo, hi)) = self.range {
            let ok = lo.is_finite() && hi.is_finite() && lo < hi && (self.scale == ColorScale::Linear || lo > 0.0);
            if !ok {
                let need = if self.scale == ColorScale::Log { "0 < min < max, finite" } else { "min < max, finite" };
                return Err(Error::Config(format!("heatmap colour range [{lo}, {hi}]: needs {need}")));
            }
        }
        Ok(())
    }

    /// The label of row `r`.
    pub(super) fn row_label(&self, r: usize) -> String {
        self.row_labels.get(r).cloned().unwrap_or_else(|| r.to_string())
    }

    /// The colour scale: its range (log10 units on a log scale) and colour-bar ticks.
    pub(super) fn colors(&self) -> Scale {
        let log = self.scale == ColorScale::Log;
        let drawable = |v: &&f64| v.is_finite() && (!log || **v > 0.0);
        let (lo, hi) = match self.range {
            Some((lo, hi)) if log => (lo.log10(), hi.log10()),
            Some(range) => range,
            None => {
                let (lo, hi) = Extent::of(self.values.iter().filter(drawable).copied()).0.unwrap_or((0.1, 10.0));
                if log {
                    // Whole decades, at least two.
                    let (mut a, mut b) = ((lo.log10().floor()).max(-340.0), (hi.log10().ceil()).min(310.0));
                    if b - a < 2.0 {
                        let centre = (lo.log10() + hi.log10()) / 2.0;
                        if centre - a < b - centre { a = b - 2.0 } else { b = a + 2.0 }
                    }
                    (a, b)
                } else {
                    Extent(Some((lo, hi))).padded(0.0).bounds()
                }
            }
        };
        Scale { log, lo, hi }
    }
}

/// The labels of the rows of a [`GradFlow`](crate::nn::flow::GradFlow) (row `l * D + d`):
/// `layer 0`, then `layer 0 reverse` when `num_directions` is 2, `layer 1`, ...
///
/// # Example
/// ```
/// assert_eq!(rnn::plot::layer_labels(2, 2), ["layer 0", "layer 0 reverse", "layer 1", "layer 1 reverse"]);
/// assert_eq!(rnn::plot::layer_labels(1, 1), ["layer 0"]);
/// ```
pub fn layer_labels(num_layers: usize, num_directions: usize) -> Vec<String> {
    (0..num_layers)
        .flat_map(|l| {
            (0..num_directions).map(move |d| if d == 0 { format!("layer {l}") } else { format!("layer {l} reverse") })
        })
        .collect()
}

/// Values to colours: `[lo, hi]` (log10 of the values on a log scale) spans the colour map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scale {
    pub(super) log: bool,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

/// Light grey: a cell with no colour on the scale.
pub(super) const NEUTRAL: RGBColor = RGBColor(214, 214, 214);

impl Scale {
    /// Where `v` falls on the colour map, 0 to 1 (clamped); `None` when it has no colour.
    pub(super) fn position(&self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            return None;
        }
        let x = if self.log { v.log10() } else { v };
        Some(((x - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0))
    }

    /// The colour of `v`.
    pub(super) fn color(&self, v: f64) -> RGBColor {
        self.position(v).map_or(NEUTRAL, viridis)
    }

    /// The colour bar's labelled ticks (in the bar's units) with their labels, and its
    /// unlabelled ticks: powers of ten on a log scale (the line chart's log ticks when fewer than
    /// 3 fit), nice steps on a linear one.
    pub(super) fn ticks(&self) -> (Vec<(f64, String)>, Vec<f64>) {
        let extent = Extent(Some((self.lo, self.hi)));
        if !self.log {
            let axis = extent.linear(6, 0.0);
            let fmt = LinearFmt::new(&axis.major);
            return (axis.major.iter().map(|&v| (v, fmt.format(v))).collect(), Vec::new());
        }
        let (a, b) = ((self.lo - 1e-9).ceil(), (self.hi + 1e-9).floor());
        if b - a >= 2.0 {
            let (major, minor) = decade_ticks(a as i32, b as i32);
            let major = major.into_iter().map(|d| (f64::from(d), format_decade(d))).collect();
            return (major, minor.into_iter().map(f64::from).collect());
        }
        let axis = extent.log();
        let sig = log_digits(&axis.major);
        (axis.major.iter().map(|&v| (v, format_log_sig(v, sig))).collect(), Vec::new())
    }
}

/// For each of `pixels` pixels along an axis of `n` cells, the cells it shows: the cells it
/// covers when cells are narrower than a pixel, else the one under its centre.
pub(super) fn bins(n: usize, pixels: usize) -> Vec<Range<usize>> {
    (0..pixels)
        .map(|p| {
            if n <= pixels {
                let i = ((2 * p + 1) * n / (2 * pixels)).min(n.saturating_sub(1));
                i..(i + 1).min(n)
            } else {
                (p * n / pixels)..((p + 1) * n / pixels)
            }
        })
        .collect()
}

/// The one value drawn for several cells: the larger, a NaN or infinite value outranking all.
pub(super) fn dominant(a: f64, b: f64) -> f64 {
    if !a.is_finite() {
        a
    } else if !b.is_finite() {
        b
    } else {
        a.max(b)
    }
}

/// The cells as a `w` × `h` RGB image, row 0 at the top.
pub(super) fn raster(values: &Array2<f64>, scale: &Scale, w: usize, h: usize) -> Vec<u8> {
    let (rows, cols) = values.dim();
    let mut image = vec![255u8; w * h * 3];
    if rows == 0 || cols == 0 {
        return image;
    }
    let (xbins, ybins) = (bins(cols, w), bins(rows, h));
    // Each row reduced to one value per pixel column, then the rows under each pixel row.
    let reduce = |it: &mut dyn Iterator<Item = f64>| {
        it.fold(None, |acc: Option<f64>, v| Some(acc.map_or(v, |a| dominant(a, v)))).unwrap_or(f64::NAN)
    };
    let by_column: Vec<Vec<f64>> = values
        .rows()
        .into_iter()
        .map(|row| xbins.iter().map(|b| reduce(&mut b.clone().map(|t| row[t]))).collect())
        .collect();
    for (y, rb) in ybins.iter().enumerate() {
        for (x, px) in image[y * w * 3..(y + 1) * w * 3].chunks_exact_mut(3).enumerate() {
            let v = reduce(&mut rb.clone().map(|r| by_column[r][x]));
            let c = scale.color(v);
            px.copy_from_slice(&[c.0, c.1, c.2]);
        }
    }
    image
}

/// Counts of the cells with no colour: (0, negative, NaN or infinite); 0 and negative values
/// only count on a log scale.
pub(super) fn uncoloured(values: &Array2<f64>, log: bool) -> (usize, usize, usize) {
    let count = |f: &dyn Fn(f64) -> bool| values.iter().filter(|&&v| f(v)).count();
    let (zero, negative) = if log { (count(&|v| v == 0.0), count(&|v| v.is_finite() && v < 0.0)) } else { (0, 0) };
    (zero, negative, count(&|v| !v.is_finite()))
}

#[cfg(test)]
#[path = "heatmap_tests.rs"]
mod tests;
