//! The evaluation as a self-contained HTML page with SVG charts (gains, lift, calibration)
//! and every number in a table beside its chart.

use crate::metrics::Metrics;
use crate::model::Evaluation;
use std::fmt::Write;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A metric to three places, or "n/a" when the test set could not give one.
pub fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}

const W: f64 = 320.0;
const H: f64 = 220.0;
const PAD: f64 = 30.0;

fn x(v: f64) -> f64 {
    PAD + v * (W - 2.0 * PAD)
}

fn y(v: f64) -> f64 {
    H - PAD - v * (H - 2.0 * PAD)
}

fn axes(title: &str, out: &mut String) {
    let _ = write!(
        out,
        r##"<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}"><title>{t}</title><rect x="{PAD}" y="{PAD}" width="{iw}" height="{ih}" fill="none" stroke="#ccc"/>"##,
        t = escape(title),
        iw = W - 2.0 * PAD,
        ih = H - 2.0 * PAD,
    );
}

fn polyline(points: &[(f64, f64)], colour: &str, out: &mut String) {
    let pts: Vec<String> = points
        .iter()
        .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
        .collect();
    let _ = write!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
        pts.join(" ")
    );
}

fn gains_chart(m: &Metrics, baseline: &Metrics, out: &mut String) {
    axes("Cumulative gains by decile", out);
    polyline(&[(0.0, 0.0), (1.0, 1.0)], "#bbb", out);
    for (metrics, colour) in [(baseline, "#e69f00"), (m, "#0072b2")] {
        let mut pts = vec![(0.0, 0.0)];
        pts.extend(
            metrics
                .deciles
                .iter()
                .map(|d| (d.decile as f64 / 10.0, d.cumulative_gain)),
        );
        polyline(&pts, colour, out);
    }
    out.push_str("</svg>");
}

fn calibration_chart(m: &Metrics, out: &mut String) {
    axes("Calibration: predicted against observed", out);
    polyline(&[(0.0, 0.0), (1.0, 1.0)], "#bbb", out);
    for b in &m.calibration {
        let _ = write!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="#0072b2" opacity="0.7"/>"##,
            x(b.mean_predicted),
            y(b.observed_rate),
            2.0 + (b.leads as f64).sqrt().min(12.0)
        );
    }
    out.push_str("</svg>");
}

fn lift_chart(m: &Metrics, out: &mut String) {
    axes("Lift by decile", out);
    let top = m.deciles.iter().map(|d| d.lift).fold(1.0, f64::max);
    let bw = (W - 2.0 * PAD) / 10.0;
    for d in &m.deciles {
        let h = d.lift / top * (H - 2.0 * PAD);
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#0072b2"/>"##,
            PAD + (d.decile - 1) as f64 * bw + 2.0,
            H - PAD - h,
            bw - 4.0,
            h
        );
    }
    out.push_str("</svg>");
}

/// A ROC-AUC interval as the reports print it.
pub fn interval(bounds: Option<[f64; 2]>) -> String {
    bounds.map_or_else(|| "-".into(), |[low, high]| format!("{low:.3}-{high:.3}"))
}

/// The whole report page.
pub fn html(evaluation: &Evaluation, title: &str) -> String {
    let e = evaluation;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}td,th{{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}}th:first-child,td:first-child{{text-align:left}}.row{{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}}</style></head><body>
<h1>{t}</h1>
<p>{split} split: trained on {train} closed leads, tested on {test} it never saw. {trees} trees, trained in {ts:.2} s, scored the test set in {ss:.3} s.</p>
<h2>Summary</h2><table><tr><th>metric</th><th>model (trees)</th><th>baseline (logistic)</th></tr>"#,
        t = escape(title),
        split = match e.split {
            crate::model::SplitKind::Time => "Time-based (older to train, newer to test)",
            crate::model::SplitKind::Stratified =>
                "Seeded stratified (the leads' times carry no meaning)",
        },
        train = e.train_leads,
        test = e.test_leads,
        trees = e.trees,
        ts = e.train_seconds,
        ss = e.score_seconds,
    );
    for warning in &e.warnings {
        let _ = write!(out, "<p><strong>Warning:</strong> {}</p>", escape(warning));
    }
    for (name, a, b) in [
        ("ROC-AUC", opt(e.model.roc_auc), opt(e.baseline.roc_auc)),
        (
            "ROC-AUC, 95% interval",
            interval(e.model.roc_auc_interval),
            interval(e.baseline.roc_auc_interval),
        ),
        ("PR-AUC", opt(e.model.pr_auc), opt(e.baseline.pr_auc)),
        (
            "Brier score",
            format!("{:.4}", e.model.brier),
            format!("{:.4}", e.baseline.brier),
        ),
        (
            "log-loss",
            format!("{:.4}", e.model.log_loss),
            format!("{:.4}", e.baseline.log_loss),
        ),
        (
            "expected calibration error",
            format!("{:.4}", e.model.ece),
            format!("{:.4}", e.baseline.ece),
        ),
        (
            "  by chance, up to",
            format!("{:.4}", e.model.ece_by_chance),
            format!("{:.4}", e.baseline.ece_by_chance),
        ),
        (
            "lift, top decile",
            format!("{:.2}", e.model.lift_top_decile),
            format!("{:.2}", e.baseline.lift_top_decile),
        ),
        (
            "most leads at one probability",
            format!("{:.1}%", e.model.largest_tie_share * 100.0),
            format!("{:.1}%", e.baseline.largest_tie_share * 100.0),
        ),
    ] {
        let _ = write!(out, "<tr><td>{name}</td><td>{a}</td><td>{b}</td></tr>");
    }
    out.push_str("</table><h2>Gains and lift</h2><div class=\"row\">");
    gains_chart(&e.model, &e.baseline, &mut out);
    lift_chart(&e.model, &mut out);
    out.push_str("<table><tr><th>decile</th><th>leads</th><th>won</th><th>won rate</th><th>lift</th><th>cumulative gain</th></tr>");
    for d in &e.model.deciles {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}%</td><td>{:.2}</td><td>{:.1}%</td></tr>",
            d.decile,
            d.leads,
            d.won,
            d.won_rate * 100.0,
            d.lift,
            d.cumulative_gain * 100.0
        );
    }
    out.push_str("</table></div><h2>Calibration</h2><div class=\"row\">");
    calibration_chart(&e.model, &mut out);
    out.push_str(
        "<table><tr><th>predicted</th><th>leads</th><th>mean predicted</th><th>observed</th></tr>",
    );
    for b in &e.model.calibration {
        let _ = write!(
            out,
            "<tr><td>{:.0}-{:.0}%</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td></tr>",
            b.from * 100.0,
            b.to * 100.0,
            b.leads,
            b.mean_predicted * 100.0,
            b.observed_rate * 100.0
        );
    }
    out.push_str("</table></div><h2>Features</h2><p>Used: ");
    out.push_str(&escape(&e.features.join(", ")));
    out.push_str("</p><table><tr><th>left out</th><th>why</th></tr>");
    for d in &e.dropped {
        let _ = write!(
            out,
            "<tr><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            escape(&d.name),
            escape(&d.reason)
        );
    }
    out.push_str("</table></body></html>\n");
    out
}
