//! Drawing a [`Heatmap`] with `plotters`: the title, the cells as one image on labelled axes,
//! and on the right the colour bar with its ticks, its title and the note on grey cells.

use plotters::element::BitMapElement;

use super::draw::{Canvas, register_font, text_width};
use super::heatmap::{NEUTRAL, raster, uncoloured};
use super::save::Figure;
use super::*;

/// Width of the colour bar's column (bar, tick labels, title), in pixels before scaling.
const BAR_COLUMN: f64 = 200.0;
/// Width of the colour bar itself.
const BAR_WIDTH: f64 = 24.0;
/// Row labels closer than this (pixels before scaling) are thinned out.
const ROW_PITCH: f64 = 17.0;

impl Figure for Heatmap {
    fn size(&self) -> (u32, u32) {
        Heatmap::size(self)
    }

    fn draw_on<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        canvas: Canvas,
    ) -> std::result::Result<(), String> {
        register_font()?;
        // Every length in pixels is multiplied by `k`.
        let (k, px, font) = (canvas.k(), |v: f64| canvas.px(v), |size, color| canvas.font(size, color));
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let thin = px(1.0).max(1) as u32;
        let label_font = font(18.0, &TEXT);
        let width_of = |s: &str, style: &TextStyle<'_>| text_width(root, s, style, k);
        let (rows, cols) = self.values.dim();
        let scale = self.colors();

        root.fill(&WHITE).map_err(err)?;
        let body = if self.title.is_empty() {
            root.margin(px(14.0), 0, 0, 0)
        } else {
            root.margin(px(12.0), 0, 0, 0).titled(&self.title, font(30.0, &TEXT)).map_err(err)?
        };
        let (body_w, body_h) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(body_w as i32 - px(BAR_COLUMN));

        // Rows: row 0 at the top, in [rows - 1, rows) on the y axis; every `every`-th labelled.
        let row_font = font(16.0, &TEXT);
        let pitch = (f64::from(body_h) - 82.0 * k) / rows.max(1) as f64;
        let every = ((ROW_PITCH * k / pitch).ceil() as usize).max(1);
        let shown: Vec<usize> = (0..rows).filter(|r| r % every == 0).collect();
        let widest = shown.iter().map(|&r| width_of(&self.row_label(r), &row_font)).fold(0.0, f64::max);
        let y_ticks = shown.iter().map(|&r| (rows - 1 - r) as f64 + 0.5).collect();
        let y_axis = Axis::new(0.0, rows.max(1) as f64, y_ticks, Vec::new());
        let y_fmt = |y: &f64| {
            let r = rows as f64 - 1.0 - y.floor();
            if r >= 0.0 && (r as usize) < rows { self.row_label(r as usize) } else { String::new() }
        };
        // Columns: time step t in [t, t + 1), ticked at its centre.
        let x_ticks = if cols == 0 { Vec::new() } else { Extent(Some((0.0, (cols - 1) as f64))).linear(8, 1.0).major };
        let x_axis = Axis::new(0.0, cols.max(1) as f64, x_ticks.iter().map(|t| t + 0.5).collect(), Vec::new());
        let x_fmt = |x: &f64| format!("{}", (x - 0.5).round());

        let mut chart = ChartBuilder::on(&left)
            .margin_top(px(10.0))
            .margin_bottom(px(10.0))
            .margin_left(px(14.0))
            .margin_right(px(12.0))
            .x_label_area_size(px(62.0))
            .y_label_area_size(widest.round() as i32 + px(46.0))
            .build_cartesian_2d(x_axis, y_axis)
            .map_err(err)?;
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let (w, h) = ((xs.end - xs.start).max(1) as u32, (ys.end - ys.start).max(1) as u32);
        let cells = raster(&self.values, &scale, w as usize, h as usize);
        blit(root, (xs.start, ys.start), (w, h), cells).map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_style(label_font.clone())
            .y_label_style(row_font)
            .axis_desc_style(font(20.0, &TEXT))
            .axis_style(BLACK.mix(0.55).stroke_width(thin))
            .set_all_tick_mark_size(px(5.0))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(err)?;
        let frame = BLACK.mix(0.55).stroke_width(thin);
        let corners = [(xs.start, ys.start), (xs.end, ys.start), (xs.end, ys.end)];
        root.draw(&PathElement::new(corners, frame)).map_err(err)?;
        if rows == 0 || cols == 0 {
            let style = font(22.0, &FAINT).pos(Pos::new(HPos::Center, VPos::Center));
            let centre = ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2);
            root.draw(&Text::new("no data", centre, style)).map_err(err)?;
        }

        // The colour bar: as tall as the cells, its ticks and title on the right.
        let (ticks, minor) = scale.ticks();
        let widest = ticks.iter().map(|(_, l)| width_of(l, &label_font)).fold(0.0, f64::max);
        let labels_w = widest.round() as i32 + px(46.0);
        let margin_right = (px(BAR_COLUMN) - px(BAR_WIDTH) - labels_w - px(10.0)).max(px(6.0));
        let positions: Vec<f64> = ticks.iter().map(|t| t.0).collect();
        let mut bar = ChartBuilder::on(&right)
            .margin_top(px(10.0))
            .margin_bottom(px(10.0))
            .margin_left(px(10.0))
            .margin_right(margin_right)
            .x_label_area_size(px(62.0))
            .right_y_label_area_size(labels_w)
            .build_cartesian_2d(
                Axis::new(0.0, 1.0, Vec::new(), Vec::new()),
                Axis::new(scale.lo, scale.hi, positions, minor),
            )
            .map_err(err)?;
        let (bx, by) = bar.plotting_area().get_pixel_range();
        let (bw, bh) = ((bx.end - bx.start).max(1) as u32, (by.end - by.start).max(1) as u32);
        let gradient = (0..bh)
            .flat_map(|y| {
                let c = viridis(1.0 - (f64::from(y) + 0.5) / f64::from(bh));
                (0..bw).flat_map(move |_| [c.0, c.1, c.2])
            })
            .collect();
        blit(root, (bx.start, by.start), (bw, bh), gradient).map_err(err)?;
        let tick_label =
            |v: &f64| ticks.iter().find(|t| (t.0 - v).abs() < 1e-9).map_or_else(String::new, |t| t.1.clone());
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(self.value_label.as_str())
            .label_style(label_font.clone())
            .axis_desc_style(font(20.0, &TEXT))
            .axis_style(BLACK.mix(0.55).stroke_width(thin))
            .set_all_tick_mark_size(px(5.0))
            .y_label_formatter(&tick_label)
            .draw()
            .map_err(err)?;
        let box_ =
            [(bx.start, by.start), (bx.end, by.start), (bx.end, by.end), (bx.start, by.end), (bx.start, by.start)];
        root.draw(&PathElement::new(box_, frame)).map_err(err)?;
        // Unlabelled decades: short ticks on the bar's right edge.
        for v in &bar.as_coord_spec().y_spec().minor {
            let (_, y) = bar.backend_coord(&(1.0, *v));
            root.draw(&PathElement::new([(bx.end, y), (bx.end + px(3.0), y)], frame)).map_err(err)?;
        }

        // Grey cells: a swatch under the bar, and what they are.
        let (zero, negative, bad) = uncoloured(&self.values, scale.log);
        let notes: Vec<String> = [(zero, "0"), (negative, "< 0"), (bad, "NaN/inf")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{what}: {n} cell{}", if n == 1 { "" } else { "s" }))
            .collect();
        if !notes.is_empty() {
            // The swatch beside the middle of the lines, which say what grey stands for.
            let top = by.end + px(14.0);
            let mid = top + px(17.0 * (notes.len() - 1) as f64 / 2.0);
            let swatch = [(bx.start, mid), (bx.start + px(BAR_WIDTH), mid + px(14.0))];
            root.draw(&Rectangle::new(swatch, NEUTRAL.filled())).map_err(err)?;
            root.draw(&Rectangle::new(swatch, frame)).map_err(err)?;
            let style = font(15.0, &TEXT).pos(Pos::new(HPos::Left, VPos::Center));
            for (i, line) in notes.iter().enumerate() {
                let at = (bx.start + px(BAR_WIDTH + 8.0), top + px(7.0 + 17.0 * i as f64));
                root.draw(&Text::new(line.clone(), at, style.clone())).map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Copies an RGB image of `size` pixels onto `root` with its top left corner at `at` (on an SVG,
/// an embedded PNG).
fn blit<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    size: (u32, u32),
    rgb: Vec<u8>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    match BitMapElement::<(i32, i32)>::with_owned_buffer(at, size, rgb) {
        Some(image) => root.draw(&image),
        None => Ok(()), // the buffer always matches the size
    }
}
