//! Drawing a [`LinePlot`] with `plotters`: the data prepared (runs of finite points, padded
//! extents, the log axis), then the frame, axes, lines, marker and legend.

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
pub(super) enum Canvas {
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

/// Registers the embedded font with plotters, once per process.
fn register_font() -> std::result::Result<(), String> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(()).ok_or_else(|| "the embedded DejaVu Sans font cannot be read".to_string())
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
