//! Writing a [`LinePlot`] or a [`Heatmap`] as PNG (drawn large, averaged down) and SVG, atomically.

use super::draw::Canvas;
use super::*;

/// A picture that can be drawn on any `plotters` backend: a [`LinePlot`] or a [`Heatmap`].
pub(super) trait Figure {
    /// Width and height in pixels (PNG pixels, SVG user units).
    fn size(&self) -> (u32, u32);

    /// Draws the whole picture on `root`, of [`Figure::size`] (times [`SUPERSAMPLE`] on a PNG).
    fn draw_on<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        canvas: Canvas,
    ) -> std::result::Result<(), String>;
}

impl Figure for LinePlot {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw_on<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        canvas: Canvas,
    ) -> std::result::Result<(), String> {
        self.draw(root, canvas)
    }
}

impl LinePlot {
    /// Writes the chart as a [`SIZE`] PNG to `path`, atomically.
    ///
    /// Drawn at [`SUPERSAMPLE`] times the size, then averaged down, so lines and text are smooth.
    ///
    /// # Errors
    /// [`Error::Plot`] naming `path` when drawing or writing fails (e.g. a missing folder).
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LinePlot, SIZE, Series};
    /// let path = std::env::temp_dir().join(format!("rnn-doc-save-png-{}.png", std::process::id()));
    /// LinePlot::new("", "x", "y").with_series([Series::from_values("a", &[1.0, 2.0])]).save_png(&path)?;
    /// let png = std::fs::read(&path)?;
    /// assert_eq!(&png[1..4], b"PNG");
    /// assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), SIZE.0); // the width
    /// std::fs::remove_file(&path)?;
    /// let missing = std::path::Path::new("/nonexistent-dir/a.png");
    /// assert!(LinePlot::new("", "x", "y").save_png(missing).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_png(&self, path: &Path) -> Result<()> {
        write_png(self, path)
    }

    /// Writes the chart as a [`SIZE`] SVG to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Plot`] naming `path` when drawing or writing fails.
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LinePlot, Series};
    /// let path = std::env::temp_dir().join(format!("rnn-doc-save-svg-{}.svg", std::process::id()));
    /// // NaN breaks the line; nothing panics whatever the data
    /// LinePlot::new("Loss", "epoch", "MSE").with_series([Series::from_values("train", &[1.0, f64::NAN, 0.5])]).save_svg(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.starts_with("<svg"));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_svg(&self, path: &Path) -> Result<()> {
        write_svg(self, path)
    }

    /// Writes `<stem>.png` and `<stem>.svg` (the suffixes are appended); returns both paths.
    ///
    /// # Errors
    /// As [`LinePlot::save_png`] and [`LinePlot::save_svg`].
    ///
    /// # Example
    /// ```
    /// use rnn::plot::{LinePlot, Series};
    /// let stem = std::env::temp_dir().join(format!("rnn-doc-lineplot-save-{}", std::process::id()));
    /// let (png, svg) = LinePlot::new("Forecast", "t", "y").with_series([Series::from_values("y", &[1.0, 3.0, 2.0])]).save(&stem)?;
    /// assert_eq!((png.extension(), svg.extension()), (Some("png".as_ref()), Some("svg".as_ref())));
    /// assert!(png.exists() && svg.exists());
    /// std::fs::remove_file(&png)?;
    /// std::fs::remove_file(&svg)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, stem: &Path) -> Result<(PathBuf, PathBuf)> {
        write_both(self, stem)
    }
}

/// Writes `figure` as a PNG to `path`, atomically: drawn [`SUPERSAMPLE`] times larger, then
/// averaged down.
pub(super) fn write_png(figure: &impl Figure, path: &Path) -> Result<()> {
    let fail = |msg: String| Error::Plot { path: path.to_path_buf(), msg };
    let size = figure.size();
    let (w, h, k) = (size.0 as usize, size.1 as usize, SUPERSAMPLE as usize);
    let mut big = vec![0u8; w * k * h * k * 3];
    {
        let root = BitMapBackend::with_buffer(&mut big, (size.0 * SUPERSAMPLE, size.1 * SUPERSAMPLE));
        let root = root.into_drawing_area();
        figure.draw_on(&root, Canvas::Png).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let small = downsample(&big, w, h, k);
    // The bitmap backend only encodes to a named file, so encode to a hidden one beside the
    // target, then copy it in atomically; the guard removes it on every path.
    let scratch = Scratch::beside(path);
    fs::File::create(&scratch.0).map_err(|e| fail(e.to_string()))?; // a plain message for a bad folder
    {
        let mut png = BitMapBackend::new(&scratch.0, size);
        png.blit_bitmap((0, 0), size, &small).map_err(|e| fail(e.to_string()))?;
        png.present().map_err(|e| fail(e.to_string()))?;
    }
    let bytes = fs::read(&scratch.0).map_err(|e| fail(e.to_string()))?;
    write_atomic(path, &bytes).map_err(|e| io_to_plot(e, fail))
}

/// Writes `figure` as an SVG to `path`, atomically.
pub(super) fn write_svg(figure: &impl Figure, path: &Path) -> Result<()> {
    let fail = |msg: String| Error::Plot { path: path.to_path_buf(), msg };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, figure.size()).into_drawing_area();
        figure.draw_on(&root, Canvas::Svg).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    // plotters labels embedded PNGs `data:png`: give them their media type, and keep their
    // pixels square when a viewer zooms in (a heatmap's cells).
    let svg = svg.replace("<image ", "<image style=\"image-rendering:pixelated\" ");
    let svg = svg.replace("href=\"data:png;base64,", "href=\"data:image/png;base64,");
    write_atomic(path, svg.as_bytes()).map_err(|e| io_to_plot(e, fail))
}

/// Writes `<stem>.png` and `<stem>.svg` (the suffixes are appended); returns both paths.
pub(super) fn write_both(figure: &impl Figure, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    let with = |ext: &str| {
        let mut s = OsString::from(stem.as_os_str());
        s.push(ext);
        PathBuf::from(s)
    };
    let (png, svg) = (with(".png"), with(".svg"));
    write_png(figure, &png)?;
    write_svg(figure, &svg)?;
    Ok((png, svg))
}

/// Averages each `k` × `k` block of an RGB image `k` times `w` × `h` into one pixel.
fn downsample(big: &[u8], w: usize, h: usize, k: usize) -> Vec<u8> {
    let mut small = vec![0u8; w * h * 3];
    let n = (k * k) as u32;
    for (i, px) in small.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i % w, i / w);
        for (c, out) in px.iter_mut().enumerate() {
            let mut sum = 0u32;
            for dy in 0..k {
                let row = (y * k + dy) * w * k;
                sum += (0..k).map(|dx| u32::from(big[(row + x * k + dx) * 3 + c])).sum::<u32>();
            }
            *out = ((sum + n / 2) / n) as u8;
        }
    }
    small
}

/// An [`Error::Io`] from writing the file as an [`Error::Plot`] (its path is already the target's).
fn io_to_plot(e: Error, fail: impl Fn(String) -> Error) -> Error {
    match e {
        Error::Io { err, .. } => fail(err.to_string()),
        other => other,
    }
}

/// A hidden `.png` file beside the target, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn beside(path: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Scratch(path.with_file_name(format!(".{name}.render.{}.{n}.png", std::process::id())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
