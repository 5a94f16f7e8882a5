//! Adjudication rounds: which items of a rated round go to a third rater, and to whom.
//!
//! Dual coding finds items whose raters differ by two levels or more; the usual practice is a
//! third rating by someone who has not seen the item. An adjudication round holds exactly those
//! items, shown like any other item, each assigned to raters who never rated its transcript in
//! any round. How the adjudicated items are scored is the analysis plan's
//! (`[analysis] adjudication`), not this module's. Pure.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// One rating of the source round.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRating<'a> {
    pub cell_id: &'a str,
    pub rater: &'a str,
    pub dimension: &'a str,
    pub score: i64,
}

/// An item to adjudicate: its transcript and the dimensions its raters disagree on.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub cell_id: String,
    /// Dimension id → (lowest, highest) score.
    pub dimensions: BTreeMap<String, (i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjudicateError {
    #[error(
        "transcript {cell_id} needs {needed} adjudicator(s) who never rated it, but only {available} of the round's raters did not ({excluded} rated it before); add raters with --raters"
    )]
    TooFewRaters {
        cell_id: String,
        needed: usize,
        available: usize,
        excluded: String,
    },
}

/// The transcripts whose ratings differ by at least `threshold` on one of `dimensions`, sorted by
/// transcript. Ratings by judges (or any rater) count as given: the caller picks the raters.
pub fn disagreements(
    ratings: &[SourceRating<'_>],
    dimensions: &[&str],
    threshold: i64,
) -> Vec<Disagreement> {
    let mut ranges: BTreeMap<&str, BTreeMap<&str, (i64, i64)>> = BTreeMap::new();
    for r in ratings.iter().filter(|r| dimensions.contains(&r.dimension)) {
        let e = ranges
            .entry(r.cell_id)
            .or_default()
            .entry(r.dimension)
            .or_insert((r.score, r.score));
        e.0 = e.0.min(r.score);
        e.1 = e.1.max(r.score);
    }
    ranges
        .into_iter()
        .filter_map(|(cell, dims)| {
            let wide: BTreeMap<String, (i64, i64)> = dims
                .into_iter()
                .filter(|(_, (lo, hi))| hi - lo >= threshold)
                .map(|(d, r)| (d.to_string(), r))
                .collect();
            (!wide.is_empty()).then(|| Disagreement {
                cell_id: cell.to_string(),
                dimensions: wide,
            })
        })
        .collect()
}

/// Assigns each item `per_item` raters from `raters`, never one in `excluded[i]` (everyone who
/// rated the transcript before), the least loaded first (ties drawn from `rng`).
pub fn assign_adjudicators(
    items: &[(String, BTreeSet<String>)],
    raters: &[String],
    per_item: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<String>>, AdjudicateError> {
    let mut load: BTreeMap<&str, usize> = raters.iter().map(|r| (r.as_str(), 0)).collect();
    let mut out = Vec::with_capacity(items.len());
    for (cell_id, excluded) in items {
        let eligible: Vec<&String> = raters.iter().filter(|r| !excluded.contains(*r)).collect();
        if eligible.len() < per_item {
            return Err(AdjudicateError::TooFewRaters {
                cell_id: cell_id.clone(),
                needed: per_item,
                available: eligible.len(),
                excluded: excluded.iter().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let mut keyed: Vec<((usize, u32), &String)> = eligible
            .into_iter()
            .map(|r| ((load[r.as_str()], rng.random::<u32>()), r))
            .collect();
        keyed.sort();
        let chosen: Vec<String> = keyed
            .into_iter()
            .take(per_item)
            .map(|(_, r)| r.clone())
            .collect();
        for r in &chosen {
            *load.get_mut(r.as_str()).expect("a round rater") += 1;
        }
        out.push(chosen);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn r<'a>(cell: &'a str, rater: &'a str, dim: &'a str, score: i64) -> SourceRating<'a> {
        SourceRating {
            cell_id: cell,
            rater,
            dimension: dim,
            score,
        }
    }

    #[test]
    fn disagreements_are_the_items_at_or_beyond_the_threshold() {
        let ratings = [
            r("t1", "a", "vs", 0),
            r("t1", "b", "vs", 2),
            r("t2", "a", "vs", 0),
            r("t2", "b", "vs", 1),
            r("t2", "a", "ps", 2),
            r("t2", "b", "ps", 0),
            r("t3", "a", "vs", 1),
        ];
        let any = disagreements(&ratings, &["vs", "ps"], 2);
        assert_eq!(
            any.iter().map(|d| d.cell_id.as_str()).collect::<Vec<_>>(),
            ["t1", "t2"]
        );
        assert_eq!(any[1].dimensions.keys().collect::<Vec<_>>(), ["ps"]);
        let primary = disagreements(&ratings, &["vs"], 2);
        assert_eq!(primary.len(), 1);
        assert_eq!(primary[0].dimensions["vs"], (0, 2));
        assert_eq!(disagreements(&ratings, &["vs", "ps"], 1).len(), 2);
        assert_eq!(disagreements(&ratings, &["vs"], 3).len(), 0);
    }

    #[test]
    fn adjudicators_never_rated_the_item_and_share_the_load() {
        let raters: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let set = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
        let items: Vec<(String, BTreeSet<String>)> = (0..8)
            .map(|i| {
                (
                    format!("t{i}"),
                    if i % 2 == 0 {
                        set(&["a", "b"])
                    } else {
                        set(&["b", "c"])
                    },
                )
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let out = assign_adjudicators(&items, &raters, 1, &mut rng).unwrap();
        let mut load: BTreeMap<&str, usize> = BTreeMap::new();
        for ((_, excluded), chosen) in items.iter().zip(&out) {
            assert_eq!(chosen.len(), 1);
            assert!(!excluded.contains(&chosen[0]));
            *load.entry(chosen[0].as_str()).or_default() += 1;
        }
        assert!(load.values().all(|&n| (2..=4).contains(&n)), "{load:?}");
        let err = assign_adjudicators(&items, &raters, 3, &mut rng).unwrap_err();
        assert!(err.to_string().contains("t0"), "{err}");
    }
}
