//! PNG plots through plotters' bitmap backend, with the embedded DejaVu Sans font.

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

/// Size of every plot, in pixels.
pub const SIZE: (u32, u32) = (900, 560);
const FONT: &str = "sans-serif";

/// One named line: `(x, y)` points in drawing order.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// One named set of bars: a value per group, in the groups' order.
#[derive(Clone, Debug)]
pub struct BarSeries {
    /// Legend entry.
    pub name: String,
    /// One value per group.
    pub values: Vec<f64>,
}

/// How the y axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic (every y must be positive).
    Log,
}

/// Registers DejaVu Sans as plotters' `sans-serif` font (once per process).
pub fn register_fonts() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| anyhow!("the embedded DejaVu Sans font did not parse"));
    });
    result
}

fn plot_err(path: &Path, err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting {}: {err}", path.display())
}

fn color(i: usize) -> RGBAColor {
    Palette99::pick(i).to_rgba()
}

/// Min and max of `values` (finite ones), widened a little; `None` if none is finite.
fn padded_range(values: impl Iterator<Item = f64>, log: bool) -> Option<Range<f64>> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    if log {
        return Some(lo / 1.5..hi * 1.5);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.1
    };
    Some(lo - pad..hi + pad)
}

/// Fraction of the value range added above a bar plot's tallest bar, for its legend.
const LEGEND_HEADROOM: f64 = 0.2;

/// A bar's value as printed above it: one decimal from 100 up, two from 1, four below 1.
fn bar_value(v: f64) -> String {
    let magnitude = v.abs();
    if magnitude >= 100.0 {
        format!("{v:.1}")
    } else if magnitude >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// A line plot of several named series with a legend, linear y axis, written as PNG to `path`.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    line_plot_scaled(path, title, x_label, y_label, series, Scale::Linear)
}

/// [`line_plot`] with a choice of y scale; with [`Scale::Log`] non-positive points are dropped.
pub fn line_plot_scaled(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    scale: Scale,
) -> Result<()> {
    let log = scale == Scale::Log;
    let points = || series.iter().flat_map(|s| s.points.iter());
    let Some(x_range) = padded_range(points().map(|p| p.0), false) else {
        bail!("plotting {}: no finite points to plot", path.display());
    };
    let Some(y_range) = padded_range(points().map(|p| p.1), log) else {
        bail!("plotting {}: no plottable y values", path.display());
    };
    if log {
        draw_lines(
            path,
            title,
            x_label,
            y_label,
            series,
            x_range,
            y_range.log_scale(),
        )
    } else {
        draw_lines(path, title, x_label, y_label, series, x_range, y_range)
    }
}

fn draw_lines<Y>(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    x_range: Range<f64>,
    y_range: Y,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    register_fonts()?;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)
        .map_err(|e| plot_err(path, e))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(|e| plot_err(path, e))?;
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
            .map_err(|e| plot_err(path, e))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))
            .map_err(|e| plot_err(path, e))?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}

/// Grouped bars: one group per entry of `groups` along x, one coloured bar per series in each
/// group (`series[k].values[g]`), with a legend; written as PNG to `path`.
pub fn bar_plot(
    path: &Path,
    title: &str,
    y_label: &str,
    groups: &[String],
    series: &[BarSeries],
) -> Result<()> {
    if groups.is_empty() || series.is_empty() {
        bail!("plotting {}: no groups or no series", path.display());
    }
    if let Some(bad) = series.iter().find(|s| s.values.len() != groups.len()) {
        bail!(
            "plotting {}: series `{}` has {} values for {} groups",
            path.display(),
            bad.name,
            bad.values.len(),
            groups.len()
        );
    }
    let values = || series.iter().flat_map(|s| s.values.iter().copied());
    let Some(range) = padded_range(values().chain([0.0]), false) else {
        bail!("plotting {}: no finite values", path.display());
    };
    register_fonts()?;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let n = groups.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            -0.5f64..n as f64 - 0.5,
            range.start.min(0.0)..range.end + LEGEND_HEADROOM * (range.end - range.start),
        )
        .map_err(|e| plot_err(path, e))?;
    let group_name = |x: &f64| {
        let g = x.round();
        if (x - g).abs() < 1e-6 && g >= 0.0 && (g as usize) < n {
            groups[g as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&group_name)
        .y_desc(y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(|e| plot_err(path, e))?;
    let width = 0.8 / series.len() as f64;
    let value_style = TextStyle::from((FONT, 12).into_font())
        .pos(Pos::new(HPos::Center, VPos::Bottom))
        .color(&BLACK);
    for (k, s) in series.iter().enumerate() {
        let c = color(k);
        let left = |g: usize| g as f64 - 0.4 + k as f64 * width;
        let finite = || s.values.iter().enumerate().filter(|(_, v)| v.is_finite());
        let bars = finite().map(|(g, &v)| {
            Rectangle::new([(left(g), 0.0), (left(g) + width * 0.9, v)], c.filled())
        });
        chart
            .draw_series(bars)
            .map_err(|e| plot_err(path, e))?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        let values = finite().map(|(g, &v)| {
            Text::new(
                bar_value(v),
                (left(g) + width * 0.45, v.max(0.0)),
                value_style.clone(),
            )
        });
        chart.draw_series(values).map_err(|e| plot_err(path, e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}
