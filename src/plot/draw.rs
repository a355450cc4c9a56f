//! Drawing a [`LinePlot`] with `plotters`: the data prepared (runs of finite points, padded
//! extents, the log axis), then the frame, axes, lines, marker and legend.

use super::band::{self, BandRun};
use super::legend::{Entry, draw_beside};
use super::*;

impl LinePlot {
    /// Draws the whole chart on `root`.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        canvas: Canvas,
    ) -> std::result::Result<(), String> {
        register_font()?;
        // Every length in pixels is multiplied by `k`.
        let (k, px, font) = (canvas.k(), |v: f64| canvas.px(v), |size, color| canvas.font(size, color));
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let thin = px(1.0).max(1) as u32;
        let data = Prepared::new(self);
        let label_font = font(18.0, &TEXT);
        let width_of = |s: &str| text_width(root, s, &label_font, k);

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
            let axis = data.y.log();
            let sig = log_digits(&axis.major);
            (axis, Box::new(move |y: &f64| format_log_sig(*y, sig)))
        } else {
            let axis = data.y.linear(6, 0.0);
            let fmt = LinearFmt::new(&axis.major);
            (axis, Box::new(move |y: &f64| fmt.format(*y)))
        };
        let widest_y = y_axis.major.iter().map(|y| width_of(&y_fmt(y))).fold(0.0, f64::max);
        let y_desc = match &data.note {
            Some(note) => format!("{} ({note})", self.y_label),
            None => self.y_label.clone(),
        };
        let y_area = widest_y.round() as i32 + px(46.0);

        // The legend: in the corner where it covers least, or beside the plot when every corner
        // of the plotting area (estimated here, before it is laid out) would cover some line.
        let entries: Vec<Entry> = data
            .lines
            .iter()
            .map(|(i, _)| &self.series[*i])
            .zip(data.lines.iter().map(|(i, _)| *i))
            .filter(|(s, _)| !s.name.is_empty())
            .map(|(s, i)| Entry { name: s.name.clone(), color: series_color(s, i), style: s.style, fill: None })
            .chain(data.bands.iter().map(|(i, _)| &self.bands[*i]).filter(|b| !b.name.is_empty()).map(|b| Entry {
                name: b.name.clone(),
                color: b.rgb(),
                style: LineStyle::Solid,
                fill: Some(b.fill()),
            }))
            .collect();
        let box_w = entries.iter().map(|e| width_of(&e.name)).fold(0.0, f64::max) + 80.0 * k;
        let box_h = (entries.len() as f64 * 24.0 + 36.0) * k;
        let top = if self.title.is_empty() { 24.0 } else { 16.0 + 30.0 + 12.0 };
        let guess_area = (
            f64::from(SIZE.0) * k - f64::from(px(14.0) + px(36.0) + y_area),
            f64::from(SIZE.1) * k - (top + 10.0 + 62.0) * k,
        );
        let beside = !entries.is_empty() && data.legend_covers((box_w * 1.1, box_h * 1.1), guess_area);
        // Beside the plot, rows closer together and text smaller when they would not fit.
        let fit = ((guess_area.1 - 24.0 * k) / (entries.len().max(1) as f64 * 24.0 * k)).min(1.0);
        let beside_w = (box_w - 80.0 * k) * fit + 80.0 * k;
        let right = if beside { px(20.0) + beside_w.round() as i32 + px(16.0) } else { px(36.0) };

        root.fill(&WHITE).map_err(err)?;
        let mut builder = ChartBuilder::on(root);
        builder
            .margin_top(px(if self.title.is_empty() { 24.0 } else { 16.0 }))
            .margin_bottom(px(10.0))
            .margin_left(px(14.0))
            .margin_right(right)
            .x_label_area_size(px(62.0))
            .y_label_area_size(y_area);
        if !self.title.is_empty() {
            // centred over the plot and the legend's margin: smaller type when it would not fit
            let room = f64::from(SIZE.0) * k - f64::from(px(14.0) + right);
            let wide = text_width(root, &self.title, &font(30.0, &TEXT), k);
            let size = if wide > room * 0.96 { (30.0 * room * 0.96 / wide).max(16.0) } else { 30.0 };
            builder.caption(&self.title, font(size, &TEXT));
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

        // The bands first, under the marker and every line.
        for (i, runs) in &data.bands {
            let fill = self.bands[*i].fill().filled();
            chart.draw_series(runs.iter().map(|r| Polygon::new(band::outline(r), fill))).map_err(err)?;
        }

        let marker = self.marker_x.as_ref().filter(|(x, _)| x.is_finite());
        if let Some(&(mx, _)) = marker {
            let grey = MARKER.stroke_width(thin);
            let line = DashedPathElement::new([(mx, y0), (mx, y1)], px(6.0), px(4.0), grey);
            chart.draw_series([line]).map_err(err)?;
        }

        for (i, runs) in &data.lines {
            let s = &self.series[*i];
            let color = series_color(s, *i);
            let style = color.stroke_width(px(2.0) as u32);
            let (dash, gap) = match s.style {
                LineStyle::Solid => (0, 0),
                LineStyle::Dashed => (px(10.0), px(6.0)),
                LineStyle::Dotted => (px(2.0), px(4.0)),
                LineStyle::DashDot => (-1, 0),
            };
            let long = runs.iter().filter(|r| r.len() > 1);
            let anno = match canvas {
                _ if dash < 0 => {
                    // Dash-dot: the pattern is cut out of the line in pixels, then stroked.
                    let pattern = pattern_of(s.style, k);
                    for run in long {
                        let pixels: Vec<_> = run.iter().map(|p| chart.backend_coord(p)).collect();
                        stroke(root, &cut(&pixels, &pattern), color, px(2.0) as u32, canvas).map_err(err)?;
                    }
                    chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                }
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
            if !s.name.is_empty() && !beside && dash < 0 {
                let glyph = px(30.0);
                let bits = cut(&[(0, 0), (glyph, 0)], &pattern_of(s.style, k));
                anno.label(s.name.as_str()).legend(move |(x, y)| {
                    let path = |i: usize| bits.get(i).map_or_else(Vec::new, |b| b.clone());
                    EmptyElement::at((x, y))
                        + PathElement::new(path(0), style)
                        + PathElement::new(path(1), style)
                        + PathElement::new(path(2), style)
                });
            } else if !s.name.is_empty() && !beside {
                let glyph = px(30.0);
                let (dash, gap) = if dash == 0 { (glyph, 1) } else { (dash, gap) };
                anno.label(s.name.as_str())
                    .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + glyph, y)], dash, gap, style));
            }
            // A point with no neighbour would be invisible as a line: mark it.
            let lone = runs.iter().filter(|r| r.len() == 1);
            chart.draw_series(lone.map(|r| Circle::new(r[0], px(3.5), color.filled()))).map_err(err)?;
        }

        // The bands' legend entries after the lines' (drawn above, so labelled here).
        for (i, _) in data.bands.iter().filter(|_| !beside) {
            let b = &self.bands[*i];
            if b.name.is_empty() {
                continue;
            }
            let (fill, edge, glyph) = (b.fill().filled(), b.rgb().mix(0.5), px(30.0));
            let h = px(7.0);
            chart.draw_series(std::iter::empty::<Polygon<(f64, f64)>>()).map_err(err)?.label(b.name.as_str()).legend(
                move |(x, y)| {
                    EmptyElement::at((x, y))
                        + Rectangle::new([(0, -h), (glyph, h)], fill)
                        + Rectangle::new([(0, -h), (glyph, h)], edge.stroke_width(1))
                },
            );
        }

        if let Some((mx, label)) = marker {
            let right = (mx - x0) / (x1 - x0) > 0.75;
            let (anchor, dx) = if right { (HPos::Right, -px(6.0)) } else { (HPos::Left, px(6.0)) };
            let style = font(17.0, &MARKER).pos(Pos::new(anchor, VPos::Top));
            let text = EmptyElement::at((*mx, y1)) + Text::new(label.clone(), (dx, px(6.0)), style);
            chart.draw_series([text]).map_err(err)?;
        }

        if data.lines.is_empty() && data.bands.is_empty() {
            let style = font(22.0, &FAINT).pos(Pos::new(HPos::Center, VPos::Center));
            let text = Text::new("no data", ((x0 + x1) / 2.0, (y0 + y1) / 2.0), style);
            chart.draw_series([text]).map_err(err)?;
        } else if beside {
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            let at = (xs.end + px(16.0), ys.start);
            let size = (beside_w, f64::from(ys.end - ys.start));
            draw_beside(root, &entries, at, size, canvas, 18.0 * k).map_err(err)?;
        } else if !entries.is_empty() {
            let area = chart.plotting_area().dim_in_pixel();
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
pub(super) enum Canvas {
    Png,
    Svg,
}

impl Canvas {
    /// Backend pixels per pixel of the saved picture.
    pub(super) fn k(self) -> f64 {
        match self {
            Canvas::Png => f64::from(SUPERSAMPLE),
            Canvas::Svg => 1.0,
        }
    }

    /// `v` pixels of the saved picture in backend pixels.
    pub(super) fn px(self, v: f64) -> i32 {
        (v * self.k()).round() as i32
    }

    /// The charts' font at `size` pixels of the saved picture.
    pub(super) fn font(self, size: f64, color: &'static RGBColor) -> TextStyle<'static> {
        TextStyle::from((FAMILY, size * self.k()).into_font()).color(color)
    }
}

/// The width of `s` in `style`, in backend pixels (a guess when the font cannot measure it).
pub(super) fn text_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'_>,
    k: f64,
) -> f64 {
    let guess = 10.0 * k * s.chars().count() as f64;
    root.estimate_text_size(s, style).map_or(guess, |(w, _)| f64::from(w))
}

/// A series' colour: its own palette index, else its index in the chart.
fn series_color(s: &Series, i: usize) -> RGBColor {
    PALETTE[s.color.unwrap_or(i) % PALETTE.len()]
}

/// The on and off lengths in pixels of a line style (empty: solid), times `k`.
pub(super) fn pattern_of(style: LineStyle, k: f64) -> Vec<i32> {
    let lengths: &[f64] = match style {
        LineStyle::Solid => &[],
        LineStyle::Dashed => &[10.0, 6.0],
        LineStyle::Dotted => &[2.0, 4.0],
        LineStyle::DashDot => &[10.0, 4.0, 2.0, 4.0],
    };
    lengths.iter().map(|l| (l * k).round() as i32).collect()
}

/// The visible pieces of the polyline `points` (pixels) drawn with on/off `pattern` (the first
/// length on); the whole line when the pattern is empty.
pub(super) fn cut(points: &[(i32, i32)], pattern: &[i32]) -> Vec<Vec<(i32, i32)>> {
    if pattern.is_empty() || pattern.iter().all(|&l| l <= 0) {
        return vec![points.to_vec()];
    }
    let (mut pieces, mut piece) = (Vec::new(), Vec::new());
    let (mut k, mut left) = (0, f64::from(pattern[0].max(1)));
    let at = |a: (i32, i32), b: (i32, i32), t: f64| {
        let lerp = |u: i32, v: i32| (f64::from(u) + f64::from(v - u) * t).round() as i32;
        (lerp(a.0, b.0), lerp(a.1, b.1))
    };
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let len = f64::from(b.0 - a.0).hypot(f64::from(b.1 - a.1));
        let mut done = 0.0;
        if k % 2 == 0 && piece.is_empty() {
            piece.push(a);
        }
        while len - done > left {
            done += left;
            let p = at(a, b, done / len);
            if k % 2 == 0 {
                piece.push(p);
                pieces.push(std::mem::take(&mut piece));
            } else {
                piece.push(p);
            }
            k = (k + 1) % pattern.len();
            left = f64::from(pattern[k].max(1));
        }
        left -= len - done;
        if k % 2 == 0 {
            piece.push(b);
        }
    }
    if piece.len() > 1 {
        pieces.push(piece);
    }
    pieces
}

/// Strokes pixel polylines `width` pixels wide: a round brush of 1-pixel lines on a PNG (as the
/// chart's lines), a stroked path on an SVG.
pub(super) fn stroke<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pieces: &[Vec<(i32, i32)>],
    color: RGBColor,
    width: u32,
    canvas: Canvas,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for piece in pieces {
        match canvas {
            Canvas::Svg => root.draw(&PathElement::new(piece.clone(), color.stroke_width(width)))?,
            Canvas::Png => {
                for (dx, dy) in brush(width) {
                    let shifted: Vec<_> = piece.iter().map(|&(x, y)| (x + dx, y + dy)).collect();
                    root.draw(&PathElement::new(shifted, color.stroke_width(1)))?;
                }
            }
        }
    }
    Ok(())
}

/// The pixel offsets of a round brush `width` pixels across.
fn brush(width: u32) -> impl Iterator<Item = (i32, i32)> {
    let r = width as i32 / 2;
    let r2 = f64::from(width).powi(2) / 4.0;
    (-r..=r)
        .flat_map(move |dx| (-r..=r).map(move |dy| (dx, dy)))
        .filter(move |&(dx, dy)| f64::from(dx * dx + dy * dy) <= r2)
}

/// Registers the embedded font with plotters, once per process.
pub(super) fn register_font() -> std::result::Result<(), String> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(()).ok_or_else(|| "the embedded DejaVu Sans font cannot be read".to_string())
}

/// Consecutive finite points of one series, drawn as one line.
type Run = Vec<(f64, f64)>;

/// Writes an axis' tick labels.
type Labels<'a> = Box<dyn Fn(&f64) -> String + 'a>;

/// The data as drawn: finite points in chart coordinates (log10 of y on a log axis), split into
/// runs at non-finite points (and, when left out, values ≤ 0), and the padded extent of
/// everything.
pub(super) struct Prepared {
    /// (series index, runs of points) for each series with at least one finite point.
    pub(super) lines: Vec<(usize, Vec<Run>)>,
    /// (band index, runs) for each band with at least one finite point.
    pub(super) bands: Vec<(usize, Vec<BandRun>)>,
    /// The marker line's x, when finite.
    pub(super) marker: Option<f64>,
    pub(super) x: Extent,
    pub(super) y: Extent,
    log: bool,
    note: Option<String>,
}

impl Prepared {
    fn new(plot: &LinePlot) -> Self {
        let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
        // every value drawn: the lines' points and the bands' edges
        let edges = plot.bands.iter().flat_map(|b| b.points.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]));
        let all = || plot.series.iter().flat_map(|s| s.points.iter().copied()).chain(edges.clone()).filter(finite);
        let skip = plot.nonpositive == NonPositive::Skip;
        let log = plot.log_y && (skip || all().all(|(_, y)| y > 0.0));
        let left_out = if log { all().filter(|&(_, y)| y <= 0.0).count() } else { 0 };
        let note = match left_out {
            _ if plot.log_y && !log => Some("linear: some values ≤ 0".to_string()),
            0 => None,
            1 => Some("1 value ≤ 0 not drawn".to_string()),
            n => Some(format!("{n} values ≤ 0 not drawn")),
        };
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
        let bands: Vec<_> = plot
            .bands
            .iter()
            .enumerate()
            .map(|(i, b)| (i, band::runs(b, |y| if log { y.log10() } else { y }, clamp)))
            .filter(|(_, runs)| !runs.is_empty())
            .collect();
        let band_points = || bands.iter().flat_map(|(_, runs)| runs.iter().flatten());
        let points = || {
            let edges = band_points().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
            lines.iter().flat_map(|(_, runs)| runs.iter().flatten().copied()).chain(edges)
        };
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
        Prepared { x: xs.padded(0.02), y: ys.padded(0.06), lines, bands, marker, log, note }
    }
}
