//! Identifiability: can a simple classifier tell the condition from the items as raters see
//! them? Names are redacted, but length, formatting and phrasing remain; if a classifier
//! identifies the model (or the scaffold) far above chance, a rater who learned the styles could
//! too. `blind` runs this before packets go out (recorded in the key and the round manifest) and
//! the report runs it again over every un-blinded round.
//!
//! Two multinomial naive Bayes classifiers, each with Laplace smoothing: one over hashed words,
//! word pairs and character 4-grams of the visible text (presence per item); one over binned
//! style features (length, lines, markdown marks, placeholders, turns). The reported accuracy is
//! the better of the two, cross-validated with folds **grouped** by the cell's model × scaffold ×
//! prompt, so repeats and the same transcript in several rounds never sit in both training and
//! test. The permutation p-value takes the same maximum over both classifiers on labels shuffled
//! between groups, so it is exact for the procedure as run.

use std::collections::HashMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::intervals;
use crate::hash::derive_seed;

/// One item as raters see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeDoc {
    /// The visible text of every turn, in order.
    pub text: String,
    /// The assistant turns' markdown, for the style features.
    pub markdown: String,
    pub turns: usize,
    /// The class to predict.
    pub label: usize,
    /// Items of one group (one cell's model × scaffold × prompt) share a fold.
    pub group: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub method: String,
    /// Items audited (a sample, when `sampled_from` is set).
    pub n_items: usize,
    /// The number of items the sample was drawn from, above [`MAX_ITEMS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<usize>,
    pub n_groups: usize,
    pub folds: usize,
    pub accuracy: f64,
    pub accuracy_ci: Option<(f64, f64)>,
    /// Always guessing the largest class.
    pub chance: f64,
    pub p_value: f64,
    pub permutations: usize,
    /// Per class: the share of its items classified correctly.
    pub per_class: Vec<Option<f64>>,
    /// Cross-validated accuracy of each classifier: text, style.
    pub text_accuracy: f64,
    pub style_accuracy: f64,
}

pub const FOLDS: usize = 5;
pub const PERMUTATIONS: usize = 199;
/// The audit stops shuffling once this many shuffles reach the observed accuracy (Besag &
/// Clifford 1991): a well-blinded round, whose classifiers sit at chance, is settled after a few
/// dozen shuffles instead of all of them, while a small p-value still takes every one.
pub const SEQUENTIAL_HITS: usize = 10;
/// Shuffles computed together (in parallel) between checks of the stopping rule.
const SHUFFLE_CHUNK: usize = 16;
/// The most items one audit classifies; larger sets are sampled (see [`identifiability`]).
pub const MAX_ITEMS: usize = 2_000;
const BUCKETS: u32 = 1 << 18;

fn hash(s: &str, salt: u64) -> u32 {
    // FNV-1a: stable across platforms and versions, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    (h % u64::from(BUCKETS)) as u32
}

/// Hashed words, word pairs and character 4-grams, each counted once per item.
fn text_features(text: &str) -> Vec<u32> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: Vec<u32> = Vec::with_capacity(words.len() * 8);
    for w in &words {
        out.push(hash(w, 1));
    }
    for pair in words.windows(2) {
        out.push(hash(&format!("{} {}", pair[0], pair[1]), 2));
    }
    let chars: Vec<char> = lower.chars().collect();
    let mut gram = String::new();
    for window in chars.windows(4) {
        gram.clear();
        gram.extend(window);
        out.push(hash(&gram, 3));
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn bin(x: usize) -> usize {
    // 0, 1, 2-3, 4-7, ...: log2 bins.
    (usize::BITS - x.leading_zeros()) as usize
}

/// Binned style features of one item, as tokens.
fn style_features(doc: &ProbeDoc) -> Vec<u32> {
    let md = &doc.markdown;
    let lines: Vec<&str> = md.lines().collect();
    let starts = |p: &dyn Fn(&str) -> bool| lines.iter().filter(|l| p(l.trim_start())).count();
    let sentences = md.matches(['.', '!', '?']).count().max(1);
    let words = md.split_whitespace().count();
    let features: [(&str, usize); 16] = [
        ("chars", md.chars().count()),
        ("words", words),
        ("lines", lines.len()),
        (
            "paragraphs",
            md.split("\n\n").filter(|p| !p.trim().is_empty()).count(),
        ),
        ("bold", md.matches("**").count() / 2),
        (
            "italic",
            md.matches('*')
                .count()
                .saturating_sub(md.matches("**").count() * 2),
        ),
        ("headings", starts(&|l| l.starts_with('#'))),
        (
            "bullets",
            starts(&|l| l.starts_with("- ") || l.starts_with("* ")),
        ),
        (
            "numbered",
            starts(&|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()) && l.contains(". ")),
        ),
        ("code", md.matches('`').count()),
        ("tables", starts(&|l| l.starts_with('|'))),
        ("links", md.matches("](").count()),
        (
            "placeholders",
            doc.text.matches(crate::blind::lexicon::PLACEHOLDER).count(),
        ),
        ("turns", doc.turns),
        ("words-per-sentence", words / sentences),
        ("questions", md.matches('?').count()),
    ];
    features
        .iter()
        .map(|(name, x)| hash(&format!("{name}={}", bin(*x)), 4))
        .collect()
}

/// Each item's features as dense vocabulary ids (shared by every fit: the vocabulary does not
/// depend on the labels), and the vocabulary's size.
fn vocabulary_ids(docs: &[Vec<u32>]) -> (Vec<Vec<u32>>, usize) {
    let mut vocabulary: HashMap<u32, u32> = HashMap::new();
    let ids = docs
        .iter()
        .map(|d| {
            d.iter()
                .map(|f| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(*f).or_insert(next)
                })
                .collect()
        })
        .collect();
    (ids, vocabulary.len())
}

/// The features that can move a prediction, and each item's feature count.
///
/// Why: items of a group always share a fold, so a feature seen in one group only is, whenever
/// an item holding it is held out, absent from the training folds: it adds ln(0 + 1) = 0 to every
/// class's score. Scoring only the features of two or more groups gives the same predictions, bit
/// for bit, while most of the text's word pairs and 4-grams (a prompt's topic, a transcript's
/// wording) drop out of the audit's inner loop.
struct Scored {
    /// Per item: its features seen in at least two groups, as dense ids below `width`.
    features: Vec<Vec<u32>>,
    /// Per item: how many features it has in all (the multinomial's length).
    lengths: Vec<usize>,
    /// The whole vocabulary's size (Laplace smoothing counts every feature).
    vocabulary: usize,
    /// How many distinct features are scored.
    width: usize,
}

impl Scored {
    fn new(ids: &[Vec<u32>], vocabulary: usize, groups: &[usize]) -> Scored {
        // Per feature: the first group it was seen in, and whether a second one followed.
        let mut first_group = vec![usize::MAX; vocabulary];
        let mut shared = vec![false; vocabulary];
        for (doc, &g) in ids.iter().zip(groups) {
            for &f in doc {
                let f = f as usize;
                if first_group[f] == usize::MAX {
                    first_group[f] = g;
                } else if first_group[f] != g {
                    shared[f] = true;
                }
            }
        }
        let mut dense = vec![u32::MAX; vocabulary];
        let mut width = 0u32;
        for (f, _) in shared.iter().enumerate().filter(|(_, s)| **s) {
            dense[f] = width;
            width += 1;
        }
        Scored {
            features: ids
                .iter()
                .map(|doc| {
                    doc.iter()
                        .map(|&f| dense[f as usize])
                        .filter(|&d| d != u32::MAX)
                        .collect()
                })
                .collect(),
            lengths: ids.iter().map(Vec::len).collect(),
            vocabulary,
            width: width as usize,
        }
    }
}

/// Out-of-fold predictions of multinomial naive Bayes: class counts over all items once, each
/// fold's own counts subtracted for its items.
fn predict(scored: &Scored, labels: &[usize], classes: usize, folds: &[usize]) -> Vec<usize> {
    let (ids, v) = (&scored.features, scored.vocabulary);
    // Whole counts (u32: half the memory of f64, so more of the table stays in cache). A
    // feature's counts over all items and its held-out fold's own counts sit side by side
    // (`width` = 2 × classes), so scoring a feature touches one cache line, not two.
    let width = 2 * classes;
    let mut counts = vec![0u32; scored.width * width];
    let mut totals = vec![0.0f64; classes];
    let mut priors = vec![0.0f64; classes];
    for (doc, &c) in ids.iter().zip(labels) {
        priors[c] += 1.0;
        for &f in doc {
            counts[f as usize * width + c] += 1;
        }
    }
    for (&length, &c) in scored.lengths.iter().zip(labels) {
        totals[c] += length as f64;
    }
    // Counts are whole numbers: their logarithms come from one table (the same values `ln`
    // gives, looked up instead of computed for every feature of every item in every fold).
    let largest = counts.iter().copied().max().unwrap_or(0) as usize;
    let ln_of: Vec<f64> = (0..=largest + 1).map(|k| (k as f64).ln()).collect();
    let mut predictions = vec![0; ids.len()];
    let mut scores = vec![0.0f64; classes];
    let mut denominators = vec![0.0f64; classes];
    for fold in 0..FOLDS {
        let held: Vec<usize> = (0..ids.len()).filter(|&i| folds[i] == fold).collect();
        if held.is_empty() {
            continue;
        }
        let mut own_totals = vec![0.0f64; classes];
        let mut own_priors = vec![0.0f64; classes];
        for &i in &held {
            let c = labels[i];
            own_priors[c] += 1.0;
            for &f in &ids[i] {
                counts[f as usize * width + classes + c] += 1;
            }
            own_totals[c] += scored.lengths[i] as f64;
        }
        let n_train: f64 = priors.iter().sum::<f64>() - own_priors.iter().sum::<f64>();
        for c in 0..classes {
            denominators[c] = (totals[c] - own_totals[c] + v as f64).ln();
        }
        for &i in &held {
            scores.fill(0.0);
            // One pass over the item's features, every class's counts of a feature side by side.
            for &f in &ids[i] {
                let at = f as usize * width;
                for c in 0..classes {
                    let n = counts[at + c] - counts[at + classes + c];
                    scores[c] += ln_of[n as usize + 1];
                }
            }
            let features = scored.lengths[i] as f64;
            for c in 0..classes {
                let prior = priors[c] - own_priors[c];
                scores[c] = if prior > 0.0 {
                    (prior / n_train).ln() + scores[c] - features * denominators[c]
                } else {
                    f64::NEG_INFINITY
                };
            }
            let mut best = (f64::NEG_INFINITY, 0);
            for (c, &score) in scores.iter().enumerate() {
                if priors[c] - own_priors[c] > 0.0 && score > best.0 {
                    best = (score, c);
                }
            }
            predictions[i] = best.1;
        }
        for &i in &held {
            for &f in &ids[i] {
                counts[f as usize * width + classes + labels[i]] = 0;
            }
        }
    }
    predictions
}

/// Folds by group, stratified: each class's groups shuffled and dealt round-robin, so every
/// item of a group is in the same fold.
fn grouped_folds(group_labels: &[usize], classes: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut fold_of = vec![0; group_labels.len()];
    let mut dealt = 0;
    for c in 0..classes {
        let mut members: Vec<usize> = (0..group_labels.len())
            .filter(|&g| group_labels[g] == c)
            .collect();
        members.shuffle(rng);
        for g in members {
            fold_of[g] = dealt % FOLDS;
            dealt += 1;
        }
    }
    fold_of
}

fn accuracy(predictions: &[usize], labels: &[usize]) -> f64 {
    predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / labels.len() as f64
}

/// Cross-validated identifiability of `docs`' labels. `None` with fewer than two classes, or
/// fewer than two groups per fold.
///
/// Above [`MAX_ITEMS`] items the audit runs on a seeded random sample of that many (every item
/// equally likely, so groups keep their share): the cost of the permutations grows with the
/// items, and a sample of this size already detects any style a rater could learn. Each
/// permutation draws from its own stream, derived from `seed` and its index, so the figures are
/// the same whatever the number of threads that compute them.
pub fn identifiability(
    docs: &[ProbeDoc],
    classes: usize,
    confidence: f64,
    seed: u64,
    permutations: usize,
) -> Option<ProbeResult> {
    match sample(docs.len(), seed) {
        Some(chosen) => {
            let sampled: Vec<ProbeDoc> = chosen.iter().map(|&i| docs[i].clone()).collect();
            identifiability_of_sample(
                &sampled,
                docs.len(),
                classes,
                confidence,
                seed,
                permutations,
            )
        }
        None => identifiability_of(docs, classes, confidence, seed, permutations),
    }
}

/// The items the audit of `n` items looks at, sorted: `None` (all of them) up to [`MAX_ITEMS`],
/// else a seeded random sample of that many. Callers with large items build only these.
pub fn sample(n: usize, seed: u64) -> Option<Vec<usize>> {
    (n > MAX_ITEMS).then(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&["sample", &seed.to_string()]));
        let mut chosen = rand::seq::index::sample(&mut rng, n, MAX_ITEMS).into_vec();
        chosen.sort_unstable();
        chosen
    })
}

/// [`identifiability`] of `docs`, a sample (from [`sample`]) of `of` items.
pub fn identifiability_of_sample(
    docs: &[ProbeDoc],
    of: usize,
    classes: usize,
    confidence: f64,
    seed: u64,
    permutations: usize,
) -> Option<ProbeResult> {
    let mut result = identifiability_of(docs, classes, confidence, seed, permutations)?;
    if of > docs.len() {
        result.sampled_from = Some(of);
        result.method.push_str(&format!(
            "; on a random sample of {} of the {of} items",
            docs.len()
        ));
    }
    Some(result)
}

/// Besag & Clifford's (1991) sequential Monte Carlo count: shuffles in index order until
/// [`SEQUENTIAL_HITS`] of them reach the observed statistic or `limit` are drawn. Returns the
/// hits and the shuffles drawn. Shuffles are computed in parallel a chunk at a time, but the
/// stopping point is the index of the h-th hit, so the result does not depend on the chunk or
/// the number of threads (only the work wasted past it does).
fn sequential_count(limit: usize, reaches: impl Fn(usize) -> bool + Sync) -> (usize, usize) {
    let mut hits = 0;
    let mut start = 0;
    while start < limit {
        let end = (start + SHUFFLE_CHUNK).min(limit);
        let chunk: Vec<bool> = (start..end).into_par_iter().map(&reaches).collect();
        for (i, hit) in chunk.into_iter().enumerate() {
            if hit {
                hits += 1;
                if hits == SEQUENTIAL_HITS {
                    return (hits, start + i + 1);
                }
            }
        }
        start = end;
    }
    (hits, limit)
}

fn identifiability_of(
    docs: &[ProbeDoc],
    classes: usize,
    confidence: f64,
    seed: u64,
    permutations: usize,
) -> Option<ProbeResult> {
    let present = (0..classes)
        .filter(|c| docs.iter().any(|d| d.label == *c))
        .count();
    // Groups, renumbered densely; a group's label is its first item's (they agree by design).
    let mut group_index: HashMap<usize, usize> = HashMap::new();
    let mut group_labels: Vec<usize> = Vec::new();
    let groups: Vec<usize> = docs
        .iter()
        .map(|d| {
            *group_index.entry(d.group).or_insert_with(|| {
                group_labels.push(d.label);
                group_labels.len() - 1
            })
        })
        .collect();
    if present < 2 || group_labels.len() < 2 * FOLDS {
        return None;
    }
    let text_raw: Vec<Vec<u32>> = docs.par_iter().map(|d| text_features(&d.text)).collect();
    let (text, v_text) = vocabulary_ids(&text_raw);
    drop(text_raw);
    let text = Scored::new(&text, v_text, &groups);
    let style_raw: Vec<Vec<u32>> = docs.iter().map(style_features).collect();
    let (style, v_style) = vocabulary_ids(&style_raw);
    let style = Scored::new(&style, v_style, &groups);

    let run = |group_labels: &[usize], rng: &mut ChaCha8Rng| {
        let labels: Vec<usize> = groups.iter().map(|&g| group_labels[g]).collect();
        let fold_of = grouped_folds(group_labels, classes, rng);
        let folds: Vec<usize> = groups.iter().map(|&g| fold_of[g]).collect();
        let by_text = predict(&text, &labels, classes, &folds);
        let by_style = predict(&style, &labels, classes, &folds);
        let (a_text, a_style) = (accuracy(&by_text, &labels), accuracy(&by_style, &labels));
        let best = if a_text >= a_style { by_text } else { by_style };
        (labels, best, a_text, a_style)
    };
    let (labels, predictions, text_accuracy, style_accuracy) =
        run(&group_labels, &mut ChaCha8Rng::seed_from_u64(seed));
    let observed = text_accuracy.max(style_accuracy);
    let seed_text = seed.to_string();
    let shuffle_reaches = |p: usize| {
        let mut rng =
            ChaCha8Rng::seed_from_u64(derive_seed(&["permutation", &seed_text, &p.to_string()]));
        let mut shuffled = group_labels.clone();
        shuffled.shuffle(&mut rng);
        let (_, _, a, b) = run(&shuffled, &mut rng);
        a.max(b) >= observed - 1e-12
    };
    let (at_least, drawn) = sequential_count(permutations, shuffle_reaches);
    let p_value = if at_least >= SEQUENTIAL_HITS {
        at_least as f64 / drawn as f64
    } else {
        (1 + at_least) as f64 / (1 + permutations) as f64
    };
    let correct = predictions
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count() as u64;
    let largest = (0..classes)
        .map(|c| labels.iter().filter(|l| **l == c).count())
        .max()
        .unwrap_or(0);
    Some(ProbeResult {
        method: format!(
            "the better of two multinomial naive Bayes classifiers (hashed words, word pairs and \
             character 4-grams of the visible text; binned length, markdown, placeholder and turn \
             counts); {FOLDS}-fold cross-validation grouped by model × scaffold × prompt; \
             sequential permutation p-value (Besag & Clifford 1991) from {drawn} shuffles of \
             the labels between groups (at most {permutations}; stopped once \
             {SEQUENTIAL_HITS} reached the observed accuracy)"
        ),
        n_items: docs.len(),
        sampled_from: None,
        n_groups: group_labels.len(),
        folds: FOLDS,
        accuracy: observed,
        accuracy_ci: intervals::wilson(correct, labels.len() as u64, confidence),
        chance: largest as f64 / labels.len() as f64,
        p_value,
        permutations: drawn,
        per_class: (0..classes)
            .map(|c| {
                let idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
                (!idx.is_empty()).then(|| {
                    idx.iter().filter(|&&i| predictions[i] == c).count() as f64 / idx.len() as f64
                })
            })
            .collect(),
        text_accuracy,
        style_accuracy,
    })
}

/// The folds an item would be in, for tests: whether any group straddles two folds.
#[cfg(test)]
fn folds_split_a_group(docs: &[ProbeDoc], classes: usize, seed: u64) -> bool {
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut labels = Vec::new();
    let groups: Vec<usize> = docs
        .iter()
        .map(|d| {
            *index.entry(d.group).or_insert_with(|| {
                labels.push(d.label);
                labels.len() - 1
            })
        })
        .collect();
    let fold_of = grouped_folds(&labels, classes, &mut ChaCha8Rng::seed_from_u64(seed));
    let mut seen: HashMap<usize, usize> = HashMap::new();
    docs.iter()
        .zip(&groups)
        .any(|(d, &g)| *seen.entry(d.group).or_insert(fold_of[g]) != fold_of[g])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_of_one_group_are_left_out_without_changing_a_prediction() {
        use rand::RngExt;
        // 24 groups of 3 items in 3 classes; each item draws features private to its group and
        // features shared by everyone, with class-dependent odds.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (groups, classes) = (24, 3);
        let mut ids = Vec::new();
        let mut item_groups = Vec::new();
        for g in 0..groups {
            for _ in 0..3 {
                let mut doc: Vec<u32> = Vec::new();
                for _ in 0..6 {
                    doc.push((g * 8 + rng.random_range(0..8)) as u32);
                }
                for _ in 0..10 {
                    let shared = 200 + rng.random_range(0..40) * (1 + g % classes);
                    doc.push(shared.min(319) as u32);
                }
                doc.sort_unstable();
                doc.dedup();
                ids.push(doc);
                item_groups.push(g);
            }
        }
        let vocabulary = 320;
        let group_labels: Vec<usize> = (0..groups).map(|g| g % classes).collect();
        let labels: Vec<usize> = item_groups.iter().map(|&g| group_labels[g]).collect();
        let fold_of = grouped_folds(&group_labels, classes, &mut rng);
        let folds: Vec<usize> = item_groups.iter().map(|&g| fold_of[g]).collect();
        let pruned = Scored::new(&ids, vocabulary, &item_groups);
        let every = Scored {
            features: ids.clone(),
            lengths: ids.iter().map(Vec::len).collect(),
            vocabulary,
            width: vocabulary,
        };
        assert!(pruned.width < every.width / 2, "{}", pruned.width);
        assert_eq!(
            predict(&pruned, &labels, classes, &folds),
            predict(&every, &labels, classes, &folds)
        );
    }

    fn doc(text: &str, label: usize, group: usize) -> ProbeDoc {
        ProbeDoc {
            text: text.to_string(),
            markdown: text.to_string(),
            turns: 2,
            label,
            group,
        }
    }

    /// Answers to 30 prompts by 3 models, with 2 repeats each: identical content per prompt.
    fn corpus(style: impl Fn(usize, &str) -> String) -> Vec<ProbeDoc> {
        let topics = [
            "rice", "tax", "knee", "loan", "visa", "vaccine", "lease", "garden", "battery", "tyre",
        ];
        let mut docs = Vec::new();
        for p in 0..30 {
            let topic = topics[p % topics.len()];
            let content = format!(
                "About the {topic} question number {p}: check the official guidance on {topic}, \
                 compare two sources, and ask a professional if unsure about {topic} {}.",
                p * 7 % 13
            );
            for model in 0..3 {
                for repeat in 0..2 {
                    let _ = repeat;
                    docs.push(doc(&style(model, &content), model, p * 3 + model));
                }
            }
        }
        docs
    }

    #[test]
    fn the_sequential_count_stops_at_the_tenth_hit_in_index_order() {
        // Every third shuffle reaches the statistic: the tenth hit is shuffle 29 (index 28).
        assert_eq!(sequential_count(199, |p| p % 3 == 1), (10, 29));
        // Hits late and few: every shuffle is drawn.
        assert_eq!(sequential_count(199, |p| p >= 195), (4, 199));
        assert_eq!(sequential_count(199, |_| false), (0, 199));
        // The tenth hit exactly at the limit still stops there (p = 10 / 199).
        assert_eq!(sequential_count(199, |p| p >= 189), (10, 199));
        // Whatever the chunking, the stopping point is the same as one shuffle at a time.
        for limit in [5, 16, 17, 40, 199] {
            let one_by_one = {
                let (mut hits, mut drawn) = (0, 0);
                for p in 0..limit {
                    drawn += 1;
                    hits += usize::from(p % 2 == 0);
                    if hits == SEQUENTIAL_HITS {
                        break;
                    }
                }
                (hits, drawn)
            };
            assert_eq!(
                sequential_count(limit, |p| p % 2 == 0),
                one_by_one,
                "{limit}"
            );
        }
    }

    #[test]
    fn a_fingerprinted_set_is_identified() {
        let docs = corpus(|model, content| match model {
            0 => format!("## Answer\n\n- **{content}**\n- **Note:** verify."),
            1 => format!("{content} Hope this helps!"),
            _ => format!("Certainly. {content}\n\n1. First\n2. Second"),
        });
        let r = identifiability(&docs, 3, 0.95, 7, 99).unwrap();
        assert!(r.accuracy >= 0.95, "{r:?}");
        assert!(r.p_value <= 0.01, "{r:?}");
        assert_eq!(r.n_groups, 90);
        assert!((r.chance - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn models_that_differ_only_in_content_are_not_identified() {
        // Each prompt's content is the same for every model; only the prompt varies.
        let docs = corpus(|_, content| content.to_string());
        let r = identifiability(&docs, 3, 0.95, 7, 99).unwrap();
        assert!(r.p_value > 0.05, "{r:?}");
        assert!(r.accuracy < 0.5, "{r:?}");
    }

    #[test]
    fn folds_never_split_a_group() {
        let docs = corpus(|_, c| c.to_string());
        for seed in 0..20 {
            assert!(!folds_split_a_group(&docs, 3, seed));
        }
    }

    #[test]
    fn repeats_of_one_transcript_do_not_inflate_accuracy() {
        // Every item is unique noise, repeated 4 times (as rounds that blind the same
        // transcripts again): ungrouped folds would "recognise" the repeats.
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut docs = Vec::new();
        for g in 0..60 {
            let words: Vec<String> = (0..12)
                .map(|_| {
                    (0..6)
                        .map(|_| rng.random_range(b'a'..=b'z') as char)
                        .collect()
                })
                .collect();
            let label = rng.random_range(0..2);
            for _ in 0..4 {
                docs.push(doc(&words.join(" "), label, g));
            }
        }
        let r = identifiability(&docs, 2, 0.95, 3, 99).unwrap();
        assert!(r.accuracy < 0.7, "{r:?}");
        assert!(r.p_value > 0.05, "{r:?}");
    }

    #[test]
    fn too_little_data_is_undefined() {
        assert!(identifiability(&[doc("a", 0, 0), doc("b", 1, 1)], 2, 0.95, 1, 9).is_none());
        let one_class: Vec<ProbeDoc> = (0..20).map(|g| doc("a", 0, g)).collect();
        assert!(identifiability(&one_class, 2, 0.95, 1, 9).is_none());
    }
}
