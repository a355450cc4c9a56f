//! Shaded bands between two curves (a forecast's prediction intervals): the type, its runs as
//! drawn, and the filled polygons.

use super::*;

/// A named shaded area between a lower and an upper curve, drawn under the lines in a light
/// tint of a palette colour: `points` are `(x, lower, upper)`; a point with a non-finite value
/// breaks the band.
///
/// # Example
/// ```
/// use rnn::plot::{Band, LinePlot, Series};
/// let path = std::env::temp_dir().join(format!("rnn-doc-band-{}.svg", std::process::id()));
/// let forecast = [(0.0, 10.0), (1.0, 12.0), (2.0, 11.0)];
/// let plot = LinePlot::new("Forecast", "t", "y")
///     .with_bands([
///         Band::new("95% interval", forecast.iter().map(|&(x, y)| (x, y - 3.0, y + 3.0)).collect(), 1),
///         Band::new("80% interval", forecast.iter().map(|&(x, y)| (x, y - 2.0, y + 2.0)).collect(), 1)
///             .with_opacity(0.25),
///     ])
///     .with_series([Series::solid("model", forecast.to_vec()).with_color(1)]);
/// plot.save_svg(&path)?;
/// let svg = std::fs::read_to_string(&path)?;
/// assert!(svg.contains("<polygon") && svg.contains("95% interval"));
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The legend entry (none when empty).
    pub name: String,
    /// `(x, lower, upper)` in drawing order.
    pub points: Vec<(f64, f64, f64)>,
    /// The colour's index in the palette of 10 (taken modulo 10).
    pub color: usize,
    /// How much of the colour covers the white beneath: 0 (none) to 1 (all).
    pub opacity: f64,
}

impl Band {
    /// A band of palette colour `color` at opacity 0.15.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64, f64)>, color: usize) -> Self {
        Band { name: name.into(), points, color, opacity: 0.15 }
    }

    /// Sets the opacity (clamped to 0..=1).
    ///
    /// # Example
    /// ```
    /// use rnn::plot::Band;
    /// assert_eq!(Band::new("80%", vec![], 1).with_opacity(1.5).opacity, 1.0);
    /// ```
    pub fn with_opacity(mut self, opacity: f64) -> Self {
        self.opacity = if opacity.is_nan() { 0.15 } else { opacity.clamp(0.0, 1.0) };
        self
    }

    /// Its palette colour.
    pub(super) fn rgb(&self) -> RGBColor {
        PALETTE[self.color % PALETTE.len()]
    }

    /// The tint it is filled with.
    pub(super) fn fill(&self) -> RGBAColor {
        self.rgb().mix(self.opacity)
    }
}

/// Consecutive finite points of a band: `(x, lower, upper)` in chart coordinates.
pub(super) type BandRun = Vec<(f64, f64, f64)>;

/// A band's runs: at non-finite points (and, on a log axis, where the lower curve is ≤ 0 and
/// `skip` leaves such values out) the band breaks; `y` maps a value to the chart (log10 on a
/// log axis) and `clamp` bounds it.
pub(super) fn runs(band: &Band, y: impl Fn(f64) -> f64, clamp: impl Fn(f64) -> f64) -> Vec<BandRun> {
    let mut runs = vec![Vec::new()];
    for &(x, lo, hi) in &band.points {
        let (lo, hi) = (y(lo), y(hi));
        match runs.last_mut() {
            Some(run) if x.is_finite() && lo.is_finite() && hi.is_finite() => {
                run.push((clamp(x), clamp(lo), clamp(hi)))
            }
            Some(run) if !run.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// The outline of a run as a polygon: along the upper curve, back along the lower one.
pub(super) fn outline(run: &BandRun) -> Vec<(f64, f64)> {
    run.iter().map(|&(x, _, hi)| (x, hi)).chain(run.iter().rev().map(|&(x, lo, _)| (x, lo))).collect()
}

/// Points filling a run, for the legend's placement: at each point and three between each
/// two, ten from the lower curve to the upper one.
pub(super) fn samples(run: &BandRun) -> Vec<(f64, f64)> {
    let column = |(x, lo, hi): (f64, f64, f64)| (0..=9).map(move |k| (x, lo + (hi - lo) * f64::from(k) / 9.0));
    let mut out: Vec<(f64, f64)> = run.first().into_iter().flat_map(|&p| column(p)).collect();
    for pair in run.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        for k in 1..=4 {
            let t = f64::from(k) / 4.0;
            let lerp = |u: f64, v: f64| u + (v - u) * t;
            out.extend(column((lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check_files_sized, has_text};
    use super::*;

    fn plot(band: Vec<(f64, f64, f64)>) -> LinePlot {
        LinePlot::new("Forecast", "t", "y")
            .with_bands([Band::new("95% interval", band, 1)])
            .with_series([Series::solid("model", (0..10).map(|t| (f64::from(t), 0.5)).collect()).with_color(1)])
    }

    #[test]
    fn bands_draw_under_the_lines_widen_the_axis_and_break_at_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let mut points: Vec<_> = (0..10).map(|t| (f64::from(t), 0.0, if t == 7 { 30.0 } else { 1.0 })).collect();
        points[4].2 = f64::NAN;
        let (png, svg) = plot(points).save(&dir.path().join("band")).unwrap();
        let s = check_files_sized(&png, &svg, SIZE);
        // one polygon per run: the NaN at t = 4 splits the band in two
        let polygons: Vec<&str> = s.split("<polygon").skip(1).collect();
        assert_eq!(polygons.len(), 2, "{s}");
        assert!(polygons.iter().all(|p| p.contains("opacity=\"0.15\"") && p.contains("fill=\"#FF7F0E\"")));
        // under the line: the polygons come before the model's polyline
        let model = s.split("<polyline").skip(1).position(|p| p.contains("stroke=\"#FF7F0E\"")).unwrap();
        let before: String = s.split("<polyline").take(model + 1).collect();
        assert_eq!(before.matches("<polygon").count(), 2);
        // the y axis reaches the band's top (30), not just the line's 0.5
        assert!(has_text(&s, "30"), "{s}");
        assert!(has_text(&s, "95% interval") && has_text(&s, "model"), "legend entries");
    }

    #[test]
    fn a_log_axis_with_a_band_below_zero_turns_linear_and_opacity_is_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let points: Vec<_> = (0..10).map(|t| (f64::from(t), -1.0, 2.0)).collect();
        let (_, svg) = plot(points).with_log_y(true).save(&dir.path().join("log")).unwrap();
        let s = std::fs::read_to_string(svg).unwrap();
        assert!(has_text(&s, "y (linear: some values ≤ 0)"), "{s}");
        assert_eq!(Band::new("", vec![], 0).with_opacity(-1.0).opacity, 0.0);
        assert_eq!(Band::new("", vec![], 0).with_opacity(f64::NAN).opacity, 0.15);
        // a band alone is data: no "no data" text
        let alone = LinePlot::new("", "t", "y").with_bands([Band::new("", vec![(0.0, 1.0, 2.0), (1.0, 1.0, 3.0)], 0)]);
        let (_, svg) = alone.save(&dir.path().join("alone")).unwrap();
        assert!(!has_text(&std::fs::read_to_string(svg).unwrap(), "no data"));
    }
}
