//! Where a line chart's legend goes: the corner of the plotting area where it covers the fewest
//! samples of the lines, or, when every corner covers some, beside the plot (drawn here).

use super::draw::{Canvas, Prepared, cut, pattern_of, stroke};
use super::*;

/// One legend entry: a line's name, colour and style, or a band's name and tint (`fill`).
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) color: RGBColor,
    pub(super) style: LineStyle,
    pub(super) fill: Option<RGBAColor>,
}

impl Prepared {
    /// The corner whose legend box (`size` pixels, on a plotting area of `area` pixels) would
    /// cover the fewest samples of the lines and the marker.
    pub(super) fn legend_corner(&self, size: (f64, f64), area: (u32, u32)) -> SeriesLabelPosition {
        self.corners(size, (f64::from(area.0), f64::from(area.1))).0
    }

    /// Whether a legend box of `size` pixels covers some sample in every corner of a plotting
    /// area of `area` pixels (or is taller than most of it).
    pub(super) fn legend_covers(&self, size: (f64, f64), area: (f64, f64)) -> bool {
        size.1 > 0.9 * area.1 || self.corners(size, area).1 > 0
    }

    /// The best corner and the number of samples it covers.
    fn corners(&self, size: (f64, f64), area: (f64, f64)) -> (SeriesLabelPosition, usize) {
        let bw = (size.0 / area.0.max(1.0)).min(1.0);
        let bh = (size.1 / area.1.max(1.0)).min(1.0);
        let (Some((x0, x1)), Some((y0, y1))) = (self.x.0, self.y.0) else {
            return (SeriesLabelPosition::UpperRight, 0);
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
        for (_, runs) in &self.bands {
            samples.extend(runs.iter().flat_map(super::band::samples).map(norm));
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
        let counts = corners.each_ref().map(covered);
        let best = (0..corners.len()).min_by_key(|&k| counts[k]).unwrap_or(0);
        let count = counts[best];
        (corners.into_iter().nth(best).map_or(SeriesLabelPosition::UpperRight, |c| c.0), count)
    }
}

/// Draws the legend beside the plot: a box `size.0` wide with its top left corner at `at`, one
/// row per entry, rows closer together (and the text smaller) when they would not fit in
/// `size.1` pixels.
pub(super) fn draw_beside<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    at: (i32, i32),
    size: (f64, f64),
    canvas: Canvas,
    font_px: f64,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (k, px) = (canvas.k(), |v: f64| canvas.px(v));
    let n = entries.len() as f64;
    let pitch = (24.0 * k).min((size.1 - 24.0 * k) / n.max(1.0)).max(8.0 * k);
    let font = canvas.font(font_px.min(pitch * 0.75) / k, &TEXT);
    let height = (pitch * n + 24.0 * k).round() as i32;
    let (x, y) = at;
    let corner = (x + size.0.round() as i32, y + height);
    root.draw(&Rectangle::new([at, corner], WHITE.mix(0.9).filled()))?;
    root.draw(&Rectangle::new([at, corner], BLACK.mix(0.25).stroke_width(px(1.0).max(1) as u32)))?;
    for (row, e) in entries.iter().enumerate() {
        let cy = y + px(12.0) + (pitch * (row as f64 + 0.5)).round() as i32;
        let glyph = [(x + px(12.0), cy), (x + px(42.0), cy)];
        if let Some(fill) = e.fill {
            let corners = [(glyph[0].0, cy - px(7.0)), (glyph[1].0, cy + px(7.0))];
            root.draw(&Rectangle::new(corners, fill.filled()))?;
            root.draw(&Rectangle::new(corners, e.color.mix(0.5).stroke_width(px(1.0).max(1) as u32)))?;
        } else {
            stroke(root, &cut(&glyph, &pattern_of(e.style, k)), e.color, px(2.0) as u32, canvas)?;
        }
        let style = font.clone().pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(e.name.clone(), (x + px(52.0), cy), style))?;
    }
    Ok(())
}
