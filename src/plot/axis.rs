//! Axis ranges, tick positions and tick labels: linear (1, 2, 5 × 10ⁿ steps) and log scales.

use super::*;

/// The range of some values, `None` when there are none.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent(pub(super) Option<(f64, f64)>);

impl Extent {
    pub(super) fn of(values: impl Iterator<Item = f64>) -> Self {
        Extent(values.fold(None, |r, v| Some(r.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))))
    }

    pub(super) fn with(self, v: f64) -> Self {
        Extent::of(self.0.into_iter().flat_map(|(lo, hi)| [lo, hi]).chain([v]))
    }

    /// Widened by `frac` of the span each side; a point or a tiny span gets a span of its own.
    pub(super) fn padded(self, frac: f64) -> Self {
        let Some((lo, hi)) = self.0 else {
            return Extent(Some((0.0, 1.0)));
        };
        let mid = lo / 2.0 + hi / 2.0;
        let span = hi - lo;
        if span > mid.abs() * 1e-9 && span > 1e-250 {
            return Extent(Some((lo - span * frac, hi + span * frac)));
        }
        let half = if mid.abs() > 1e-250 { mid.abs() * 0.1 } else { 1.0 };
        Extent(Some((mid - half, mid + half)))
    }

    pub(super) fn bounds(&self) -> (f64, f64) {
        self.0.unwrap_or((0.0, 1.0))
    }

    /// A linear axis with about `n` ticks at multiples of 1, 2, 2.5 or 5 × 10^k, at least `min_step` apart.
    pub(super) fn linear(&self, n: usize, min_step: f64) -> Axis {
        let (lo, hi) = self.bounds();
        let step = nice_step((hi - lo) / n as f64).max(min_step);
        let step = if min_step > 0.0 { step.ceil() } else { step };
        Axis::new(lo, hi, multiples(lo, hi, step), Vec::new())
    }

    /// A log axis over log10 values: decades (with 2× and 5× when few), or linear ticks in value
    /// space within about a decade.
    pub(super) fn log(&self) -> Axis {
        let (lo, hi) = self.bounds();
        let (mut major, mut minor) = (Vec::new(), Vec::new());
        if hi - lo < 1.2 {
            let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
            // About 5 ticks; finer steps when the nice step leaves fewer than 3.
            let ticks = [5.0, 10.0]
                .map(|n| multiples(a, b, nice_step((b - a) / n)))
                .into_iter()
                .find(|t| t.len() >= 3)
                .unwrap_or_default();
            return Axis::new(lo, hi, ticks.into_iter().filter(|&v| v > 0.0).map(f64::log10).collect(), minor);
        }
        // Beyond ±307 decades 10^v is no longer a normal f64: no ticks there.
        let decades = (lo.floor().max(-307.0) as i32..=hi.ceil().min(307.0) as i32).map(f64::from);
        let every = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0].into_iter().find(|&e| e * 8.0 >= hi - lo).unwrap_or(200.0);
        let few = hi - lo < 3.5;
        for d in decades {
            for m in 1..=9 {
                let v = d + f64::from(m).log10();
                if v < lo || v > hi {
                    continue;
                }
                if (m == 1 && d.rem_euclid(every) == 0.0) || (few && (m == 2 || m == 5)) {
                    major.push(v);
                } else if every == 1.0 || (m == 1 && every <= 5.0) {
                    // Unlabelled: 2..9 × 10^d when every decade is labelled, else the decades.
                    minor.push(v);
                }
            }
        }
        Axis::new(lo, hi, major, minor)
    }
}

/// 1, 2, 2.5 or 5 × 10^k, the smallest at least `raw` (1 for a non-positive or non-finite `raw`).
pub(super) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let m = raw / mag;
    let nice = [1.0, 2.0, 2.5, 5.0].into_iter().find(|&c| m <= c * (1.0 + 1e-9)).unwrap_or(10.0);
    nice * mag
}

/// The multiples of `step` within `[lo, hi]` (at most 100).
pub(super) fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil();
    (0..100)
        .map(|k| (first + f64::from(k)) * step)
        .take_while(|&v| v <= hi + step * 1e-9)
        .filter(|v| v.is_finite())
        .collect()
}

/// One axis of the chart: its range and where its grid lines and labels go.
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    /// Labelled ticks with a grid line.
    pub(super) major: Vec<f64>,
    /// Fainter grid lines, unlabelled.
    pub(super) minor: Vec<f64>,
}

impl Axis {
    /// Keeps only the finite ticks within `[lo, hi]`.
    pub(super) fn new(lo: f64, hi: f64, mut major: Vec<f64>, mut minor: Vec<f64>) -> Self {
        let inside = |v: &f64| v.is_finite() && *v >= lo - (hi - lo) * 1e-9 && *v <= hi + (hi - lo) * 1e-9;
        major.retain(inside);
        minor.retain(inside);
        Axis { lo, hi, major, minor }
    }
}

impl Ranged for Axis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let px = f64::from(limit.0) + f64::from(limit.1 - limit.0) * t;
        if px.is_finite() { px.round().clamp(-1e5, 1e5) as i32 } else { limit.0 }
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.minor.clone() } else { self.major.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Tick labels for evenly spaced ticks: as many decimals as the step needs, scientific
/// notation for very large or very small magnitudes.
pub(super) struct LinearFmt {
    pub(super) decimals: usize,
    pub(super) scientific: bool,
    pub(super) step: f64,
}

impl LinearFmt {
    pub(super) fn new(ticks: &[f64]) -> Self {
        let step = match ticks {
            [a, b, ..] => b - a,
            _ => 1.0,
        };
        let top = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
        let digits = (-step.log10().floor()).max(0.0) + if format!("{step:e}").starts_with("2.5") { 1.0 } else { 0.0 };
        LinearFmt {
            decimals: digits.min(20.0) as usize,
            scientific: top >= 1e6 || (top > 0.0 && top < 1e-3) || digits > 6.0,
            step,
        }
    }

    pub(super) fn format(&self, v: f64) -> String {
        let v = if v.abs() < self.step.abs() * 1e-6 { 0.0 } else { v };
        if self.scientific && v != 0.0 {
            let sig = (v.abs().log10().floor() - self.step.abs().log10().floor()).clamp(0.0, 15.0) as usize + 1;
            trim_sci(&format!("{:.*e}", sig, v))
        } else {
            format!("{:.*}", self.decimals, v)
        }
    }
}

/// The label of a log-axis tick at log10 value `v`, to `sig` significant digits.
pub(super) fn format_log_sig(v: f64, sig: usize) -> String {
    let x = 10f64.powf(v);
    let x: f64 = format!("{x:.*e}", sig.saturating_sub(1)).parse().unwrap_or(x);
    if (1e-3..1e5).contains(&x) { format!("{x}") } else { trim_sci(&format!("{x:e}")) }
}

/// The fewest significant digits (3 to 15) that give the ticks at log10 values `ticks` distinct
/// labels: within a narrow range, 3 digits can label two ticks alike.
pub(super) fn log_digits(ticks: &[f64]) -> usize {
    (3..15).find(|&sig| ticks.windows(2).all(|w| format_log_sig(w[0], sig) != format_log_sig(w[1], sig))).unwrap_or(15)
}

/// The labels of a log y axis over log10 values `[lo, hi]`, bottom to top.
#[cfg(test)]
pub(super) fn log_labels(lo: f64, hi: f64) -> Vec<String> {
    let axis = Extent(Some((lo, hi))).log();
    let sig = log_digits(&axis.major);
    axis.major.iter().map(|&v| format_log_sig(v, sig)).collect()
}

/// Colour-bar ticks over the whole decades `[lo, hi]` (exponents of 10): the labelled
/// exponents, every 1st, 2nd, 5th, 10th, ... so that there are at most 11, and the unlabelled
/// decades between them (none past 50 decades).
pub(super) fn decade_ticks(lo: i32, hi: i32) -> (Vec<i32>, Vec<i32>) {
    let span = i64::from(hi) - i64::from(lo);
    let every = [1, 2, 5, 10, 20, 50, 100].into_iter().find(|&e| span <= 10 * e).unwrap_or(200);
    let (major, minor): (Vec<i32>, Vec<i32>) = (lo..=hi).partition(|&d| i64::from(d).rem_euclid(every) == 0);
    (major, if span <= 50 { minor } else { Vec::new() })
}

/// The label of the power of ten `10^d` on a colour bar: `1e-6`, `1e-3`, `0.1` is `1e-1`, `1`, `1e3`.
pub(super) fn format_decade(d: i32) -> String {
    if d == 0 { "1".to_string() } else { format!("1e{d}") }
}

/// `1.50e-4` → `1.5e-4`, `2.0e6` → `2e6`.
pub(super) fn trim_sci(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        let f = LinearFmt::new(&[0.0, 0.25, 0.5]);
        assert_eq!([f.format(0.0), f.format(0.25), f.format(1e-17)], ["0.00", "0.25", "0.00"]);
        let f = LinearFmt::new(&[1e6, 2e6]);
        assert_eq!(f.format(2e6), "2e6");
        assert_eq!(format_log_sig(0.02f64.log10(), 3), "0.02");
        assert_eq!(format_log_sig(-5.0, 3), "1e-5");
        assert_eq!(format_log_sig(6.0, 3), "1e6");
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(multiples(0.1, 1.0, 0.25), [0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn log_tick_labels_for_spans() {
        // Gradient norms over 25 decades (the drawn range is padded): every 5th decade.
        assert_eq!(log_labels(-21.5, 6.5), ["1e-20", "1e-15", "1e-10", "1e-5", "1", "1e5"]);
        // 4 to 8 decades: every decade.
        assert_eq!(log_labels(-6.2, -1.8), ["1e-6", "1e-5", "1e-4", "0.001", "0.01"]);
        // 8 to 16 decades: every 2nd; the decades between are unlabelled grid lines.
        assert_eq!(log_labels(-12.0, 0.5), ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "0.01", "1"]);
        let axis = Extent(Some((-12.0, 0.5))).log();
        assert_eq!(axis.minor, [-11.0, -9.0, -7.0, -5.0, -3.0, -1.0]);
        // 16 to 40: every 5th; 40 to 80: every 10th.
        assert_eq!(log_labels(-30.0, 5.0), ["1e-30", "1e-25", "1e-20", "1e-15", "1e-10", "1e-5", "1", "1e5"]);
        assert_eq!(log_labels(-60.0, 5.0), ["1e-60", "1e-50", "1e-40", "1e-30", "1e-20", "1e-10", "1"]);
        assert_eq!(Extent(Some((-30.0, 5.0))).log().minor.len(), 28, "decades between labels");
        assert!(Extent(Some((-60.0, 5.0))).log().minor.is_empty(), "no decade lines 7 pixels apart");
        // Under 3.5 decades, 2 and 5 as well; within about a decade, linear steps.
        assert_eq!(log_labels(-0.1, 2.1), ["1", "2", "5", "10", "20", "50", "100"]);
        assert_eq!(log_labels(0.1, 0.5), ["1.5", "2", "2.5", "3"]);
        // Very narrow: more digits rather than equal labels.
        assert_eq!(log_labels(7e-5, 1.3e-4), ["1.00018", "1.0002", "1.00022", "1.00024", "1.00026", "1.00028"]);
    }

    #[test]
    fn log_axes_have_at_least_three_distinct_labels() {
        for lo in [-300.0, -25.3, -7.77, -1.0, -0.05, 0.0, 0.3, 4.9, 100.0] {
            for span in [0.01, 0.08, 0.3, 0.9, 1.19, 1.21, 2.0, 3.4, 3.6, 7.9, 8.1, 16.0, 25.0, 41.0, 90.0, 300.0] {
                let labels = log_labels(lo, lo + span);
                assert!(labels.len() >= 3, "[{lo}, {}]: {labels:?}", lo + span);
                assert!(labels.windows(2).all(|w| w[0] != w[1]), "[{lo}, {}]: {labels:?}", lo + span);
            }
        }
    }

    #[test]
    fn colour_bar_decades() {
        let (major, minor) = decade_ticks(-12, 3);
        let labels: Vec<_> = major.iter().map(|&d| format_decade(d)).collect();
        assert_eq!(labels, ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "1e-2", "1", "1e2"]);
        assert_eq!(minor, [-11, -9, -7, -5, -3, -1, 1, 3]);
        let (major, minor) = decade_ticks(-6, 0);
        let labels: Vec<_> = major.iter().map(|&d| format_decade(d)).collect();
        assert_eq!(labels, ["1e-6", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1"]);
        assert!(minor.is_empty());
        assert_eq!(decade_ticks(-1, 1).0, [-1, 0, 1]);
        assert_eq!(decade_ticks(-300, 300).0.len(), 7);
        for (lo, hi) in [(0, 2), (-5, 5), (-11, 0), (-30, 3), (-307, 307), (7, 9)] {
            assert!(decade_ticks(lo, hi).0.len() >= 3, "[{lo}, {hi}]");
        }
    }
}
