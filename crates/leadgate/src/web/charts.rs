//! Charts as inline SVG: horizontal bars with their labels and values, escaped.

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
}
