//! The baseline: L2-regularised logistic regression (linfa) on standardised features, with
//! an indicator for each feature that can be missing.

use crate::encode::Matrix;
use crate::MlError;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

pub struct Logistic {
    /// Per input column: mean and standard deviation of known values, and whether a
    /// missing indicator follows it.
    scaling: Vec<(f64, f64, bool)>,
    weights: Array1<f64>,
    intercept: f64,
}

impl Logistic {
    pub fn fit(x: &Matrix, won: &[bool]) -> Result<Logistic, MlError> {
        let scaling: Vec<(f64, f64, bool)> = (0..x.cols)
            .map(|c| {
                let known: Vec<f64> = x
                    .column(c)
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                let n = known.len().max(1) as f64;
                let mean = known.iter().sum::<f64>() / n;
                let var = known.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                let sd = if var > 1e-12 { var.sqrt() } else { 1.0 };
                (mean, sd, known.len() < x.rows)
            })
            .collect();
        let mut model = Logistic {
            scaling,
            weights: Array1::zeros(0),
            intercept: 0.0,
        };
        let design = model.design(x);
        let dataset = Dataset::new(design, Array1::from_vec(won.to_vec()));
        let fitted = LogisticRegression::default()
            .alpha(1.0)
            .max_iterations(200)
            .fit(&dataset)
            .map_err(|e| MlError::Training(format!("logistic regression: {e}")))?;
        // linfa calls whichever label it met first "positive": point the weights at `won`.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        model.weights = fitted.params().mapv(|w| w * sign);
        model.intercept = fitted.intercept() * sign;
        Ok(model)
    }

    fn design(&self, x: &Matrix) -> Array2<f64> {
        let width: usize = self.scaling.iter().map(|s| 1 + usize::from(s.2)).sum();
        let mut design = Array2::zeros((x.rows, width));
        let mut out = 0;
        for (c, &(mean, sd, indicator)) in self.scaling.iter().enumerate() {
            for (r, v) in x.column(c).iter().enumerate() {
                if v.is_nan() {
                    if indicator {
                        design[[r, out + 1]] = 1.0;
                    }
                } else {
                    design[[r, out]] = ((v - mean) / sd).clamp(-10.0, 10.0);
                }
            }
            out += 1 + usize::from(indicator);
        }
        design
    }

    /// Won probabilities.
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let margins = self.design(x).dot(&self.weights) + self.intercept;
        margins
            .iter()
            .map(|m| crate::calibrate::sigmoid(*m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_point_at_won_whichever_label_comes_first() {
        // Won leads have more visits; run once with a lost lead first, once with a won one.
        for first_won in [false, true] {
            let mut visits = Vec::new();
            let mut won = Vec::new();
            for i in 0..200 {
                let w = (i % 2 == 0) == first_won;
                visits.push(if w {
                    5.0 + (i % 5) as f64
                } else {
                    (i % 5) as f64
                });
                won.push(w);
            }
            let x = Matrix {
                rows: 200,
                cols: 1,
                data: visits,
            };
            let model = Logistic::fit(&x, &won).unwrap();
            let probe = Matrix {
                rows: 2,
                cols: 1,
                data: vec![0.0, 9.0],
            };
            let p = model.predict(&probe);
            assert!(p[0] < 0.2 && p[1] > 0.8, "first won {first_won}: {p:?}");
        }
    }
}
