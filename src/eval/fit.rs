//! Fitting the confidence weights to a corpus: a logistic regression of "answered right"
//! (in scope, best candidate correct) against everything that must not be answered (out of
//! scope, or in scope with a wrong record first) over the decision's features, checked by
//! two-fold cross-validation so the figure reported is on unseen questions.

use chrono::NaiveDate;

use super::{Scored, auc};
use crate::answer::{FEATURES, Weights, leading_features};

/// The fitted weights and how well they separate the two groups.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fit {
    pub weights: Weights,
    pub positives: usize,
    /// Out-of-scope questions and in-scope ones whose first record is wrong, together...
    pub negatives: usize,
    /// ...and the second kind alone.
    pub wrong_first: usize,
    /// AUC of the weights the caller already has on the same questions, to compare with.
    pub configured_auc: f64,
    /// AUC on each half of the questions of weights fitted on the other half (halves:
    /// alternate questions, in file order, among the right answers and out-of-scope ones).
    pub cross_validated_auc: [f64; 2],
    /// AUC of the final weights (fitted on all questions) on the same questions.
    pub in_sample_auc: f64,
}

struct Sample {
    x: [f32; FEATURES],
    right: bool,
}

/// Which features (`Features::values` order) a fit weighs. The asking clause's key
/// coverage (the last) is left to a corpus's decision.toml: fitted to ncp_policy_qa's
/// probes beside the whole question's, it cost 4 points of right answers on the real
/// questions (47.2% against 51.1%), the probes being single clauses that say nothing of it.
const FITTED: [bool; FEATURES] = [true, true, true, true, true, true, true, false];

/// What the right answers are fitted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negatives {
    /// Out-of-scope questions only: for the probes a corpus asks of itself, whose in-scope
    /// questions rank their own record below another mostly because the probe's phrasing
    /// was left out of the index (Recall@1 0.39 on ncp_policy_qa's probes), which says more
    /// about the probe than about the decision.
    OutOfScope,
    /// Out-of-scope questions and in-scope ones whose first record is wrong: for labelled
    /// questions investors wrote, where answering that record is exactly the wrong answer
    /// the decision exists to avoid.
    AlsoWrongFirst,
}

/// Fits weights on the questions' retrievals; `None` without both right answers and
/// questions not to answer to separate.
pub fn fit(
    scored: &[Scored],
    negatives: Negatives,
    configured: &Weights,
    today: NaiveDate,
) -> Option<Fit> {
    let samples: Vec<Sample> = scored
        .iter()
        .filter(|s| s.fixed.is_none())
        .filter_map(|s| {
            let right = s.question.in_scope() && s.rank == Some(1);
            if s.question.in_scope() && !right && negatives == Negatives::OutOfScope {
                return None;
            }
            let mut x = leading_features(&s.retrieval, today)
                .map(|f| f.values())
                .unwrap_or([0.0; FEATURES]);
            // A feature held at zero keeps a zero weight: its gradient is zero.
            for (v, fitted) in x.iter_mut().zip(FITTED) {
                if !fitted {
                    *v = 0.0;
                }
            }
            Some(Sample { x, right })
        })
        .collect();
    let positives = samples.iter().filter(|s| s.right).count();
    let negatives_count = samples.len() - positives;
    let wrong_first = match negatives {
        Negatives::OutOfScope => 0,
        Negatives::AlsoWrongFirst => scored
            .iter()
            .filter(|s| s.fixed.is_none() && s.question.in_scope() && s.rank != Some(1))
            .count(),
    };
    let negatives = negatives_count;
    if positives < 2 || negatives < 2 {
        return None;
    }
    let half = |parity: usize| -> Vec<&Sample> {
        samples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, s)| s)
            .collect()
    };
    let (odd, even) = (half(1), half(0));
    let cross_validated_auc = [
        separation(&logistic(&odd), &even),
        separation(&logistic(&even), &odd),
    ];
    let all: Vec<&Sample> = samples.iter().collect();
    let model = logistic(&all);
    let weights = scaled_to_unit(&model, &all);
    let (w, bias) = configured.as_array();
    let configured = Linear {
        w: w.map(f64::from),
        bias: f64::from(bias),
    };
    Some(Fit {
        in_sample_auc: separation(&model, &all),
        configured_auc: separation(&configured, &all),
        weights,
        positives,
        negatives,
        wrong_first,
        cross_validated_auc,
    })
}

/// A linear model: log-odds = bias + Σ w × x.
struct Linear {
    w: [f64; FEATURES],
    bias: f64,
}

impl Linear {
    fn score(&self, x: &[f32; FEATURES]) -> f64 {
        self.bias
            + self
                .w
                .iter()
                .zip(x)
                .map(|(w, x)| w * *x as f64)
                .sum::<f64>()
    }
}

/// Logistic regression by gradient descent on standardised features, with a little L2 so
/// that features that always move together (the two margins) stay bounded.
fn logistic(samples: &[&Sample]) -> Linear {
    let n = samples.len() as f64;
    let column = |k: usize| samples.iter().map(move |s| s.x[k] as f64);
    let mean: [f64; FEATURES] = std::array::from_fn(|k| column(k).sum::<f64>() / n);
    let sd: [f64; FEATURES] = std::array::from_fn(|k| {
        let var = column(k).map(|v| (v - mean[k]).powi(2)).sum::<f64>() / n;
        var.sqrt().max(1e-6)
    });
    let z: Vec<([f64; FEATURES], f64)> = samples
        .iter()
        .map(|s| {
            let x = std::array::from_fn(|k| (s.x[k] as f64 - mean[k]) / sd[k]);
            (x, if s.right { 1.0 } else { 0.0 })
        })
        .collect();
    let (mut w, mut b) = ([0.0f64; FEATURES], 0.0f64);
    const L2: f64 = 1e-3;
    const STEP: f64 = 0.5;
    for _ in 0..3000 {
        let mut grad = [0.0f64; FEATURES];
        let mut grad_b = 0.0;
        for (x, y) in &z {
            let error = 1.0 / (1.0 + (-(b + dot(&w, x))).exp()) - y;
            for (g, xk) in grad.iter_mut().zip(x) {
                *g += error * xk / n;
            }
            grad_b += error / n;
        }
        for (wk, g) in w.iter_mut().zip(grad) {
            *wk -= STEP * (g + L2 * *wk);
        }
        b -= STEP * grad_b;
    }
    // Back to the features' own units.
    let raw: [f64; FEATURES] = std::array::from_fn(|k| w[k] / sd[k]);
    let bias = b - raw.iter().zip(mean).map(|(w, m)| w * m).sum::<f64>();
    Linear { w: raw, bias }
}

fn dot(a: &[f64; FEATURES], b: &[f64; FEATURES]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn separation(model: &Linear, samples: &[&Sample]) -> f64 {
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for s in samples {
        let v = model.score(&s.x) as f32;
        if s.right { pos.push(v) } else { neg.push(v) }
    }
    auc(&pos, &neg)
}

/// The log-odds rescaled so that the fitted questions' confidences span [0, 1]: the
/// order (and so the AUC) is the model's, and thresholds stay numbers between 0 and 1.
fn scaled_to_unit(model: &Linear, samples: &[&Sample]) -> Weights {
    let scores: Vec<f64> = samples.iter().map(|s| model.score(&s.x)).collect();
    let lo = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = (hi - lo).max(1e-9);
    let w = model.w.map(|w| (w / span) as f32);
    Weights::from_array(w, ((model.bias - lo) / span) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(coverage: f32, right: bool) -> Sample {
        Sample {
            x: [coverage, 0.5, 0.5, 0.5, 0.2, 0.4, 0.5, 0.5],
            right,
        }
    }

    #[test]
    fn separable_groups_get_a_positive_weight_and_full_separation() {
        let samples: Vec<Sample> = (0..40)
            .map(|i| sample(0.5 + 0.01 * i as f32, true))
            .chain((0..40).map(|i| sample(0.1 + 0.01 * i as f32, false)))
            .collect();
        let refs: Vec<&Sample> = samples.iter().collect();
        let model = logistic(&refs);
        assert!(model.w[0] > 0.0, "{:?}", model.w);
        assert_eq!(separation(&model, &refs), 1.0);
        let w = scaled_to_unit(&model, &refs);
        let (weights, bias) = w.as_array();
        for s in &samples {
            let c = bias + weights.iter().zip(&s.x).map(|(w, x)| w * x).sum::<f32>();
            assert!((-1e-4..=1.0001).contains(&c), "{c}");
        }
    }
}
