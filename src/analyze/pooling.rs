//! The one rule by which ratings from several rounds are pooled.
//!
//! Rounds may overlap (`blind --all`, a re-rating round): the same rater can then rate the same
//! transcript twice. Counting both would weigh that rater double in every mean and make the
//! agreement matrix keep whichever came last, so every analysis goes through [`pool`]: for each
//! (transcript, rater, dimension) the rating from the **earliest round** counts, the round order
//! being the order in which the rounds were blinded (their manifests' `created_at`, then their
//! names), never the order they were un-blinded in. The first rating is the one made without
//! having seen the transcript before; later ones are re-ratings, kept apart as test–retest data.
//!
//! Rounds that grow a study add two kinds of items that never count in means: anchors (a
//! transcript rated in an earlier round, blinded again to measure drift and calibrate new
//! raters) and adjudications (a third rating of an item its raters disagreed on). Their ratings
//! are set apart here, whichever rater gave them; an anchor rating by a rater who rated the
//! transcript before is also a re-rating (test–retest), and adjudications enter the scores only
//! through the plan's adjudication rule.

use std::collections::BTreeSet;

use crate::blind::round::ItemRole;

/// Anything rated by one rater on one transcript in one round.
pub trait Rated {
    /// Transcript (cell id), rater, and what was rated (a dimension; "" for a whole rating).
    fn key(&self) -> (&str, &str, &str);
    fn round(&self) -> &str;
    /// Why the item was in its round; only new items count in means.
    fn role(&self) -> ItemRole {
        ItemRole::New
    }
}

/// Ratings after pooling: `kept` holds one per (transcript, rater, dimension); `later` the
/// re-ratings from later rounds, for test–retest reliability.
#[derive(Debug, Clone, PartialEq)]
pub struct Pooled<T> {
    pub kept: Vec<T>,
    pub later: Vec<T>,
    /// Ratings of anchor items (drift and calibration only).
    pub anchors: Vec<T>,
    /// Ratings of adjudication items (through the adjudication rule only).
    pub adjudications: Vec<T>,
}

/// Keeps, for each (transcript, rater, dimension), the rating of the earliest round in `rounds`
/// (rounds missing from the list come after, by name). Both outputs are sorted by transcript,
/// rater, dimension and round, whatever the order of the input.
pub fn pool<T: Rated>(ratings: Vec<T>, rounds: &[String]) -> Pooled<T> {
    let rank = |round: &str| {
        rounds
            .iter()
            .position(|r| r == round)
            .unwrap_or(rounds.len())
    };
    let mut sorted: Vec<(usize, T)> = ratings.into_iter().map(|r| (rank(r.round()), r)).collect();
    sorted.sort_by(|(ra, a), (rb, b)| (a.key(), *ra, a.round()).cmp(&(b.key(), *rb, b.round())));
    let mut kept = Vec::new();
    let mut later = Vec::new();
    let mut anchors = Vec::new();
    let mut adjudications = Vec::new();
    let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (_, r) in sorted {
        match r.role() {
            ItemRole::New => {}
            ItemRole::Anchor => {
                anchors.push(r);
                continue;
            }
            ItemRole::Adjudication => {
                adjudications.push(r);
                continue;
            }
        }
        let (cell, rater, what) = r.key();
        let key = (cell.to_string(), rater.to_string(), what.to_string());
        if seen.insert(key) {
            kept.push(r);
        } else {
            later.push(r);
        }
    }
    Pooled {
        kept,
        later,
        anchors,
        adjudications,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct R(&'static str, &'static str, &'static str, i32);

    impl Rated for R {
        fn key(&self) -> (&str, &str, &str) {
            (self.0, self.1, "d")
        }
        fn round(&self) -> &str {
            self.2
        }
    }

    #[test]
    fn the_earliest_round_counts_whatever_the_input_order() {
        let rounds = vec!["first".to_string(), "again".to_string()];
        let ratings = vec![
            R("t1", "r1", "again", 2),
            R("t1", "r1", "first", 1),
            R("t1", "r2", "again", 0),
            R("t2", "r1", "first", 1),
        ];
        let mut reversed = ratings.clone();
        reversed.reverse();
        let a = pool(ratings, &rounds);
        let b = pool(reversed, &rounds);
        assert_eq!(a, b);
        assert_eq!(
            a.kept,
            vec![
                R("t1", "r1", "first", 1),
                R("t1", "r2", "again", 0),
                R("t2", "r1", "first", 1)
            ]
        );
        assert_eq!(a.later, vec![R("t1", "r1", "again", 2)]);
    }

    #[test]
    fn unlisted_rounds_come_last_by_name() {
        let ratings = vec![R("t", "r", "zeta", 1), R("t", "r", "alpha", 2)];
        let pooled = pool(ratings, &["zeta".to_string()]);
        assert_eq!(pooled.kept, vec![R("t", "r", "zeta", 1)]);
        let pooled = pool(pooled.later.into_iter().chain(pooled.kept).collect(), &[]);
        assert_eq!(pooled.kept, vec![R("t", "r", "alpha", 2)]);
    }
}
