//! Tests of [`Heatmap`]: files, sizes, colour scales and ticks, narrow cells, odd values, errors.

use super::super::tests::{check_files_sized, has_text};
use super::*;

/// Gradient norms from 1e-12 to 1e3 over `rows` × `steps`.
fn norms(rows: usize, steps: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, steps), |(r, t)| {
        let x = (t as f64 + 0.5) / steps as f64;
        10f64.powf(-12.0 + 15.0 * x * (1.0 - 0.5 * r as f64 / rows as f64))
    })
}

#[test]
fn writes_png_and_svg_with_labelled_colour_bar() {
    let dir = tempfile::tempdir().unwrap();
    let map =
        Heatmap::new("Gradient <flow>", norms(4, 60)).with_row_labels(layer_labels(2, 2)).with_value_label("‖dL/dh_t‖");
    let (png, svg) = map.save(&dir.path().join("flow.v1")).unwrap();
    assert_eq!((png.clone(), svg.clone()), (dir.path().join("flow.v1.png"), dir.path().join("flow.v1.svg")));
    let s = check_files_sized(&png, &svg, map.size());
    assert_eq!(map.size(), (1000, 400));
    for text in ["Gradient &lt;flow&gt;", "time step", "layer", "‖dL/dh_t‖", "layer 0", "layer 1 reverse"] {
        assert!(has_text(&s, text), "{text}");
    }
    // 1e-12 .. 1e3: every 2nd decade labelled.
    for tick in ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "1e-2", "1", "1e2"] {
        assert!(has_text(&s, tick), "colour bar tick {tick}");
    }
    assert!(!has_text(&s, "0: 1 cell"), "no note without grey cells");
    // The cells and the bar are embedded PNGs, not thousands of rectangles.
    assert_eq!(s.matches("href=\"data:image/png;base64,").count(), 2);
    assert!(s.len() < 200_000, "{}", s.len());
    let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["flow.v1.png", "flow.v1.svg"], "atomic writes leave nothing else");
}

#[test]
fn one_cell_and_40_rows_by_5000_steps_render() {
    let dir = tempfile::tempdir().unwrap();
    let one = Heatmap::new("one", Array2::from_elem((1, 1), 0.5));
    let (png, svg) = one.save(&dir.path().join("one")).unwrap();
    let s = check_files_sized(&png, &svg, one.size());
    assert!(["1e-1", "1", "1e1"].iter().all(|t| has_text(&s, t)), "at least 3 decades labelled");
    let big = Heatmap::new("big", norms(40, 5000)).with_row_labels(layer_labels(20, 2));
    assert_eq!(big.size(), (1000, 910));
    let (png, svg) = big.save(&dir.path().join("big")).unwrap();
    let s = check_files_sized(&png, &svg, big.size());
    assert!(has_text(&s, "layer 19 reverse") && has_text(&s, "4000"));
    let tall = Heatmap::new("tall", norms(300, 3)).with_row_labels((0..300).map(|r| format!("r{r}")));
    assert_eq!(tall.size(), (1000, 1200));
    let (png, svg) = tall.save(&dir.path().join("tall")).unwrap();
    let s = check_files_sized(&png, &svg, tall.size());
    assert!(has_text(&s, "r0") && !has_text(&s, "r1"), "labels 17 px apart at least: some rows unlabelled");
    assert!(has_text(&s, "r5") && has_text(&s, "r295"), "every 5th row labelled, down to the bottom");
}

#[test]
fn zeros_nan_and_infinities_are_grey_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut values = norms(3, 50);
    values[[0, 0]] = 0.0;
    values[[0, 1]] = 0.0;
    values[[1, 3]] = -2.0;
    values[[2, 4]] = f64::NAN;
    values[[2, 5]] = f64::INFINITY;
    values[[2, 6]] = f64::NEG_INFINITY;
    let (png, svg) = Heatmap::new("odd", values.clone()).save(&dir.path().join("odd")).unwrap();
    let s = check_files_sized(&png, &svg, (1000, 400));
    for note in ["0: 2 cells", "&lt; 0: 1 cell", "NaN/inf: 3 cells"] {
        assert!(has_text(&s, note), "{note}");
    }
    // On a linear scale 0 and -2 have colours; NaN and infinities do not.
    let linear = Heatmap::new("odd", values).with_scale(ColorScale::Linear);
    let (_, svg) = linear.save(&dir.path().join("odd_linear")).unwrap();
    let s = fs::read_to_string(svg).unwrap();
    assert!(has_text(&s, "NaN/inf: 3 cells") && !has_text(&s, "0: 2 cells"));
    // Nothing drawable at all; no data at all.
    let cases = [
        Heatmap::new("zeros", Array2::zeros((2, 7))),
        Heatmap::new("nan", Array2::from_elem((2, 7), f64::NAN)).with_scale(ColorScale::Linear),
        Heatmap::new("flat", Array2::from_elem((2, 7), 3.0)).with_scale(ColorScale::Linear),
        Heatmap::new(
            "extremes",
            Array2::from_shape_vec((1, 3), vec![f64::MIN_POSITIVE / 1e10, 1.0, f64::MAX]).unwrap(),
        ),
        Heatmap::new("", Array2::zeros((0, 0))).with_axis_labels("", ""),
        Heatmap::new("no steps", Array2::zeros((3, 0))),
        Heatmap::new("narrow range", norms(2, 9)).with_range(0.5, 2.0),
    ];
    for (k, map) in cases.iter().enumerate() {
        let (png, svg) = map.save(&dir.path().join(format!("case{k}"))).unwrap();
        check_files_sized(&png, &svg, map.size());
    }
}

#[test]
fn colour_scale_ranges_and_ticks() {
    let labels = |map: &Heatmap| map.colors().ticks().0.into_iter().map(|t| t.1).collect::<Vec<_>>();
    // From the data, widened to whole decades: 1e-12 .. 1e3.
    let map = Heatmap::new("", norms(2, 100));
    assert_eq!((map.colors().lo, map.colors().hi), (-12.0, 3.0));
    assert_eq!(labels(&map), ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "1e-2", "1", "1e2"]);
    assert_eq!(map.colors().ticks().1.len(), 8, "the other decades, unlabelled");
    // Within one decade: widened to two, on the side the data leans to.
    let map = Heatmap::new("", Array2::from_shape_vec((1, 2), vec![0.5, 0.8]).unwrap());
    assert_eq!((map.colors().lo, map.colors().hi), (-1.0, 1.0));
    assert_eq!(labels(&map), ["1e-1", "1", "1e1"]);
    let map = Heatmap::new("", Array2::from_shape_vec((1, 2), vec![0.11, 0.2]).unwrap());
    assert_eq!((map.colors().lo, map.colors().hi), (-2.0, 0.0));
    // A fixed range narrower than 3 decades: the line chart's log ticks, still at least 3.
    let map = Heatmap::new("", norms(2, 5)).with_range(0.5, 2.0);
    assert_eq!(labels(&map), ["0.5", "1", "1.5", "2"]);
    let map = Heatmap::new("", norms(2, 5)).with_range(1e-9, 1e3);
    assert_eq!(labels(&map), ["1e-8", "1e-6", "1e-4", "1e-2", "1", "1e2"]);
    // Linear.
    let map =
        Heatmap::new("", Array2::from_shape_vec((1, 3), vec![0.0, 0.5, 1.0]).unwrap()).with_scale(ColorScale::Linear);
    assert_eq!(labels(&map), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    // Colours: the ends of viridis, grey for what has none, clamped beyond the range.
    let scale = Heatmap::new("", norms(2, 100)).colors();
    assert_eq!(scale.color(1e-12), viridis(0.0));
    assert_eq!(scale.color(1e3), viridis(1.0));
    assert_eq!(scale.color(1e9), viridis(1.0));
    assert_eq!(scale.color(1e-30), viridis(0.0));
    assert_eq!(scale.color(1e-12 * 10f64.powf(7.5)), viridis(0.5));
    for v in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(scale.color(v), NEUTRAL);
    }
}

#[test]
fn narrow_cells_show_their_maximum() {
    // Cells cover the pixels exactly once when narrower than a pixel.
    let b = bins(5000, 616);
    assert_eq!((b[0].start, b[615].end), (0, 5000));
    assert!(b.windows(2).all(|w| w[0].end == w[1].start && !w[0].is_empty()));
    // Wider cells: each pixel the cell under its centre.
    assert_eq!(bins(2, 4), [0..1, 0..1, 1..2, 1..2]);
    assert_eq!(bins(1, 3), [0..1, 0..1, 0..1]);
    assert!(bins(0, 3).iter().all(|r| r.is_empty()));
    // One spike among 5000 steps on 100 pixels is not lost; a NaN outranks it.
    let scale = Scale { log: true, lo: -12.0, hi: 3.0 };
    let mut row = Array2::from_elem((1, 5000), 1e-12);
    row[[0, 2345]] = 1e3;
    row[[0, 4000]] = f64::NAN;
    row[[0, 4001]] = 1e3;
    let image = raster(&row, &scale, 100, 2);
    let pixel = |x: usize| RGBColor(image[3 * x], image[3 * x + 1], image[3 * x + 2]);
    assert_eq!(pixel(46), viridis(1.0), "the spike's pixel");
    assert_eq!(pixel(45), viridis(0.0));
    assert_eq!(pixel(80), NEUTRAL, "the NaN's pixel");
    assert_eq!(&image[..300], &image[300..], "both pixel rows alike");
    assert_eq!(dominant(0.0, 2.0), 2.0);
    assert!(dominant(f64::NAN, 2.0).is_nan() && dominant(2.0, f64::INFINITY).is_infinite());
}

#[test]
fn bad_labels_and_ranges_are_errors_and_missing_folders_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Heatmap::new("", norms(4, 3)).with_row_labels(layer_labels(1, 2)).save(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert_eq!(err.to_string(), "heatmap row labels: expected shape [4] (one per row of the heatmap), got [2]");
    for (scale, lo, hi) in
        [(ColorScale::Log, 0.0, 1.0), (ColorScale::Log, 2.0, 1.0), (ColorScale::Linear, 1.0, f64::NAN)]
    {
        let err =
            Heatmap::new("", norms(1, 3)).with_scale(scale).with_range(lo, hi).save_png(&dir.path().join("x.png"));
        assert!(matches!(err, Err(Error::Config(_))), "{err:?}");
    }
    let ok = Heatmap::new("", norms(1, 3)).with_scale(ColorScale::Linear).with_range(-1.0, 1.0);
    assert!(ok.save_svg(&dir.path().join("x.svg")).is_ok());
    let err = Heatmap::new("", norms(1, 3)).save_svg(Path::new("/nonexistent-dir/x.svg")).unwrap_err();
    assert_eq!(err.to_string(), "/nonexistent-dir/x.svg: No such file or directory (os error 2)");
    let err = Heatmap::new("", norms(1, 3)).save_png(Path::new("/nonexistent-dir/x.png")).unwrap_err();
    assert!(matches!(err, Error::Plot { .. }), "{err:?}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "only x.svg");
}

#[test]
fn layer_labels_follow_grad_flow_rows() {
    assert_eq!(layer_labels(2, 1), ["layer 0", "layer 1"]);
    assert_eq!(layer_labels(2, 2), ["layer 0", "layer 0 reverse", "layer 1", "layer 1 reverse"]);
    assert!(layer_labels(0, 2).is_empty());
}
