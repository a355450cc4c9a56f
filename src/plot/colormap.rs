//! The viridis colour map: perceptually uniform, readable in grey and by most colour-blind eyes.
//!
//! Every 5th of the 256 entries of the table that defines viridis (Stéfan van der Walt and
//! Nathaniel J. Smith, CC0, as in matplotlib), rounded to 8 bits; linear steps between them stay
//! within 1/255 of the full table.

use plotters::style::RGBColor;

/// Entries 0, 5, 10, ..., 255 of viridis' table, 0-255 per channel.
#[rustfmt::skip]
const VIRIDIS: [[u8; 3]; 52] = [
    [68, 1, 84], [70, 8, 92], [71, 16, 99], [72, 23, 105], [72, 29, 111], [72, 36, 117],
    [71, 42, 122], [70, 48, 126], [69, 55, 129], [67, 61, 132], [65, 66, 135], [63, 72, 137],
    [61, 78, 138], [58, 83, 139], [56, 89, 140], [53, 94, 141], [51, 99, 141], [49, 104, 142],
    [46, 109, 142], [44, 113, 142], [42, 118, 142], [41, 123, 142], [39, 128, 142], [37, 132, 142],
    [35, 137, 142], [33, 142, 141], [32, 146, 140], [31, 151, 139], [30, 156, 137], [31, 161, 136],
    [33, 165, 133], [36, 170, 131], [40, 174, 128], [46, 179, 124], [53, 183, 121], [61, 188, 116],
    [70, 192, 111], [80, 196, 106], [90, 200, 100], [101, 203, 94], [112, 207, 87], [124, 210, 80],
    [137, 213, 72], [149, 216, 64], [162, 218, 55], [176, 221, 47], [189, 223, 38], [202, 225, 31],
    [216, 226, 25], [229, 228, 25], [241, 229, 29], [253, 231, 37],
];

/// The viridis colour at `t` in `[0, 1]`: dark purple at 0, teal at 0.5, yellow at 1.
///
/// `t` outside `[0, 1]` is clamped; NaN gives the colour at 0.
///
/// ```
/// use rnn::plot::viridis;
///
/// assert_eq!(viridis(0.0).0, 68);
/// assert_eq!((viridis(1.0).0, viridis(1.0).1, viridis(1.0).2), (253, 231, 37));
/// ```
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |c: usize| (f64::from(a[c]) + (f64::from(b[c]) - f64::from(a[c])) * f).round() as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_middle_and_odd_inputs() {
        let rgb = |c: RGBColor| (c.0, c.1, c.2);
        assert_eq!(rgb(viridis(0.0)), (68, 1, 84));
        assert_eq!(rgb(viridis(1.0)), (253, 231, 37));
        // Entry 128 of the full table is (33, 145, 140).
        let mid = viridis(128.0 / 255.0);
        assert!(mid.0.abs_diff(33) <= 1 && mid.1.abs_diff(145) <= 1 && mid.2.abs_diff(140) <= 1, "{mid:?}");
        assert_eq!(rgb(viridis(-3.0)), rgb(viridis(0.0)));
        assert_eq!(rgb(viridis(7.0)), rgb(viridis(1.0)));
        assert_eq!(rgb(viridis(f64::NAN)), rgb(viridis(0.0)));
        // Lightness rises all the way (green channel, the largest part of luminance here).
        let greens: Vec<u8> = (0..=100).map(|k| viridis(f64::from(k) / 100.0).1).collect();
        assert!(greens.windows(2).all(|w| w[0] <= w[1]));
    }
}
