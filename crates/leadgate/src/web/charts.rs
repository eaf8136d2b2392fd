//! Charts as inline SVG: horizontal bars and lines over months, labels escaped.

use leadgate_core::form::escape;
use std::fmt::Write;

/// One bar: its label, its length (any unit) and the text printed after it.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
}

/// Horizontal bars scaled to the largest value; `title` names the chart for screen readers.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 200.0;
    const WIDTH: f64 = 570.0;
    // Long labels are cut so they stay inside the chart; the table beside has them whole.
    let cut = |s: &str| {
        if s.chars().count() > 30 {
            format!("{}…", s.chars().take(29).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let max = bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let height = ROW * bars.len().max(1) as f64 + 4.0;
    let mut svg = format!(
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"><title>{}</title>"#,
        escape(title)
    );
    let room = WIDTH - LABEL - 90.0;
    for (i, bar) in bars.iter().enumerate() {
        let y = i as f64 * ROW + 2.0;
        let length = if max > 0.0 && bar.value.is_finite() {
            (bar.value / max * room).max(1.0)
        } else {
            1.0
        };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text><rect x="{}" y="{}" width="{length:.1}" height="{}" class="bar"/><text x="{}" y="{}" class="value">{}</text>"#,
            LABEL - 6.0,
            y + ROW * 0.68,
            escape(&cut(&bar.label)),
            LABEL,
            y + 3.0,
            ROW - 6.0,
            LABEL + length + 5.0,
            y + ROW * 0.68,
            escape(&bar.text),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One line of a trend: its name (in the legend), its CSS class and a value per point
/// (none where there is nothing to say, such as a rate over no leads).
pub struct Line {
    pub name: String,
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// Lines over `points` (months, oldest first) on one scale from zero to the largest value,
/// which `scale` writes at the top; a legend names the lines. A gap in a line is left open.
pub fn lines(
    title: &str,
    points: &[String],
    lines: &[Line],
    scale: impl Fn(f64) -> String,
) -> String {
    const WIDTH: f64 = 570.0;
    const HEIGHT: f64 = 150.0;
    const LEFT: f64 = 48.0;
    const TOP: f64 = 22.0;
    const BOTTOM: f64 = 20.0;
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let plot = (WIDTH - LEFT - 8.0, HEIGHT - TOP - BOTTOM);
    let x = |i: usize| LEFT + plot.0 * i as f64 / points.len().saturating_sub(1).max(1) as f64;
    let y = |v: f64| TOP + plot.1 - if max > 0.0 { v / max * plot.1 } else { 0.0 };
    let mut svg = format!(
        r#"<svg class="chart trend" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"><title>{}</title>"#,
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" class="axis"/><line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" class="axis"/><text x="{t}" y="{TOP}" text-anchor="end" class="value">{}</text><text x="{t}" y="{b}" text-anchor="end" class="value">0</text>"#,
        escape(&scale(max)),
        b = TOP + plot.1,
        r = LEFT + plot.0,
        t = LEFT - 4.0,
    );
    // About six month labels, whatever the span, so they never run into each other.
    let every = points.len().div_ceil(6).max(1);
    let last = points.len().saturating_sub(1);
    for (i, point) in points.iter().enumerate().filter(|(i, _)| i % every == 0) {
        // The end labels lean inwards so they stay inside the chart.
        let anchor = match i {
            0 => "start",
            i if i == last => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" class="value">{}</text>"#,
            x(i),
            HEIGHT - 4.0,
            escape(point)
        );
    }
    let mut legend = LEFT;
    for line in lines {
        let mut path = String::new();
        let mut open = false;
        for (i, value) in line.values.iter().enumerate() {
            match value.filter(|v| v.is_finite()) {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if open { "L" } else { "M" },
                        x(i),
                        y(v)
                    );
                    open = true;
                }
                None => open = false,
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{}" class="line {}"/><rect x="{legend}" y="4" width="10" height="10" class="key {}"/><text x="{}" y="13">{}</text>"#,
            path.trim_end(),
            line.class,
            line.class,
            legend + 14.0,
            escape(&line.name)
        );
        legend += 24.0 + 7.0 * line.name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let svg = bars(
            "t",
            &[
                Bar {
                    label: "<script>".into(),
                    value: 10.0,
                    text: "10".into(),
                },
                Bar {
                    label: "b".into(),
                    value: 5.0,
                    text: "5".into(),
                },
            ],
        );
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains(r#"width="280.0""#), "{svg}");
        assert!(svg.contains(r#"width="140.0""#), "{svg}");
    }

    #[test]
    fn a_trend_scales_to_its_largest_value_and_leaves_gaps_open() {
        let months: Vec<String> = ["2026-01", "2026-02", "2026-03"].map(String::from).into();
        let svg = lines(
            "<t>",
            &months,
            &[Line {
                name: "<won>".into(),
                class: "won",
                values: vec![Some(10.0), None, Some(5.0)],
            }],
            |v| format!("{v:.0}"),
        );
        assert!(svg.contains("&lt;won&gt;") && !svg.contains("<won>"));
        assert!(svg.contains(">10</text>"), "the top of the scale: {svg}");
        // Two moves and no line across the missing month.
        assert!(svg.contains(r#"d="M48.0,22.0 M562.0,76.0""#), "{svg}");
        assert!(svg.contains(">2026-02<"));
    }
}
