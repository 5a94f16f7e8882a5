//! The style probe: can a simple classifier still tell the models apart from their blinded
//! texts? Names are redacted, but length, formatting and phrasing remain; if a naive Bayes model
//! over words, word pairs and formatting marks identifies the model far above chance, raters may
//! be able to as well, and the report says so.
//!
//! Cross-validated (stratified folds, seeded), with a permutation p-value: the same procedure on
//! texts whose model labels were shuffled.

use std::collections::HashMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::intervals;

pub struct ProbeResult {
    pub method: String,
    pub n_items: usize,
    pub folds: usize,
    pub accuracy: f64,
    pub accuracy_ci: Option<(f64, f64)>,
    pub chance: f64,
    pub p_value: f64,
    /// Per class: the share of its items classified correctly.
    pub per_model: Vec<Option<f64>>,
}

const FOLDS: usize = 5;
const PERMUTATIONS: usize = 199;

/// Features: lower-case words, adjacent word pairs, and line-start formatting marks.
fn features(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let mark = if trimmed.starts_with('#') {
            Some("<heading>")
        } else if trimmed.starts_with("- ") || trimmed.starts_with("* ") {
            Some("<bullet>")
        } else if trimmed.chars().next().is_some_and(|c| c.is_ascii_digit())
            && trimmed.contains(". ")
        {
            Some("<numbered>")
        } else {
            None
        };
        if let Some(m) = mark {
            out.push(m.to_string());
        }
        if trimmed.contains("**") {
            out.push("<bold>".to_string());
        }
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    for pair in words.windows(2) {
        out.push(format!("{} {}", pair[0], pair[1]));
    }
    out.extend(words);
    out
}

/// Documents as feature ids, with the vocabulary size.
fn intern(docs: &[Vec<String>]) -> (Vec<Vec<usize>>, usize) {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let interned = docs
        .iter()
        .map(|doc| {
            doc.iter()
                .map(|f| {
                    let next = ids.len();
                    *ids.entry(f.as_str()).or_insert(next)
                })
                .collect()
        })
        .collect();
    (interned, ids.len())
}

/// Multinomial naive Bayes with Laplace smoothing, out of fold. Class counts over all documents
/// are computed once; each fold subtracts its own documents, so a fold costs one pass over them.
fn predict_all(
    docs: &[Vec<usize>],
    vocabulary: usize,
    labels: &[usize],
    classes: usize,
    folds: &[usize],
) -> Vec<usize> {
    let mut all_counts = vec![vec![0.0f64; vocabulary]; classes];
    let mut all_totals = vec![0.0f64; classes];
    let mut all_docs = vec![0.0f64; classes];
    for (doc, &c) in docs.iter().zip(labels) {
        all_docs[c] += 1.0;
        for &f in doc {
            all_counts[c][f] += 1.0;
            all_totals[c] += 1.0;
        }
    }
    let mut predictions = vec![0; docs.len()];
    for fold in 0..FOLDS {
        let held: Vec<usize> = (0..docs.len()).filter(|&i| folds[i] == fold).collect();
        let mut counts = all_counts.clone();
        let mut totals = all_totals.clone();
        let mut priors = all_docs.clone();
        for &i in &held {
            let c = labels[i];
            priors[c] -= 1.0;
            for &f in &docs[i] {
                counts[c][f] -= 1.0;
                totals[c] -= 1.0;
            }
        }
        // Smoothing over the whole vocabulary; the held-out fold's words only add ones.
        let v = vocabulary as f64;
        let n_train: f64 = priors.iter().sum();
        for &i in &held {
            let mut best = (f64::NEG_INFINITY, 0);
            for c in 0..classes {
                if priors[c] <= 0.0 {
                    continue;
                }
                let denominator = (totals[c] + v).ln();
                let mut score = (priors[c] / n_train).ln();
                for &f in &docs[i] {
                    score += (counts[c][f] + 1.0).ln() - denominator;
                }
                if score > best.0 {
                    best = (score, c);
                }
            }
            predictions[i] = best.1;
        }
    }
    predictions
}

/// Stratified fold assignment: each class's items shuffled and dealt round-robin.
fn stratified_folds(labels: &[usize], classes: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut folds = vec![0; labels.len()];
    for c in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        members.shuffle(rng);
        for (k, i) in members.into_iter().enumerate() {
            folds[i] = k % FOLDS;
        }
    }
    folds
}

fn accuracy(predictions: &[usize], labels: &[usize]) -> f64 {
    predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / labels.len() as f64
}

/// `texts`: (class, text). None with fewer than two classes or too few items to cross-validate.
pub fn style_probe(
    texts: &[(usize, &str)],
    classes: usize,
    confidence: f64,
    seed: u64,
) -> Option<ProbeResult> {
    let present = (0..classes)
        .filter(|c| texts.iter().any(|(l, _)| l == c))
        .count();
    if present < 2 || texts.len() < 2 * FOLDS {
        return None;
    }
    let raw: Vec<Vec<String>> = texts.iter().map(|(_, t)| features(t)).collect();
    let (docs, vocabulary) = intern(&raw);
    let labels: Vec<usize> = texts.iter().map(|(l, _)| *l).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let folds = stratified_folds(&labels, classes, &mut rng);
    let predictions = predict_all(&docs, vocabulary, &labels, classes, &folds);
    let observed = accuracy(&predictions, &labels);
    let correct = predictions
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count() as u64;
    let mut at_least = 0;
    let mut shuffled = labels.clone();
    for _ in 0..PERMUTATIONS {
        shuffled.shuffle(&mut rng);
        let folds = stratified_folds(&shuffled, classes, &mut rng);
        if accuracy(
            &predict_all(&docs, vocabulary, &shuffled, classes, &folds),
            &shuffled,
        ) >= observed - 1e-12
        {
            at_least += 1;
        }
    }
    let largest = (0..classes)
        .map(|c| labels.iter().filter(|l| **l == c).count())
        .max()
        .unwrap_or(0);
    Some(ProbeResult {
        method: format!(
            "multinomial naive Bayes over words, word pairs and formatting marks; {FOLDS}-fold stratified cross-validation; permutation p-value from {PERMUTATIONS} label shuffles"
        ),
        n_items: texts.len(),
        folds: FOLDS,
        accuracy: observed,
        accuracy_ci: intervals::wilson(correct, labels.len() as u64, confidence),
        // Chance: always guessing the largest class.
        chance: largest as f64 / labels.len() as f64,
        p_value: (1 + at_least) as f64 / (1 + PERMUTATIONS) as f64,
        per_model: (0..classes)
            .map(|c| {
                let idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
                (!idx.is_empty()).then(|| {
                    idx.iter().filter(|&&i| predictions[i] == c).count() as f64 / idx.len() as f64
                })
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_styles_are_found_and_identical_ones_are_not() {
        let a = "### Plan\n- **First** point about the law\n- Second point";
        let b = "Plain paragraph about the law with no formatting at all and a confident tone.";
        let mut texts = Vec::new();
        for i in 0..20 {
            texts.push((0, a));
            texts.push((1, b));
            let _ = i;
        }
        let r = style_probe(&texts, 2, 0.95, 1).unwrap();
        assert_eq!(r.accuracy, 1.0);
        assert!(r.p_value <= 0.01, "{}", r.p_value);

        let same: Vec<(usize, &str)> = (0..40).map(|i| (i % 2, b)).collect();
        let r = style_probe(&same, 2, 0.95, 1).unwrap();
        assert!(r.accuracy <= 0.6, "{}", r.accuracy);
        assert!(r.p_value > 0.05, "{}", r.p_value);
    }

    #[test]
    fn too_little_data_is_undefined() {
        assert!(style_probe(&[(0, "a"), (1, "b")], 2, 0.95, 1).is_none());
        assert!(style_probe(&[(0, "a"); 20], 2, 0.95, 1).is_none());
    }
}
