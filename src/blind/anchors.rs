//! Rounds that grow a study: anchor items and the confounding of a round with its conditions.
//!
//! A round made of only the transcripts a study extension added (a new scaffold, a new model)
//! tells its raters the condition: for an original model every item is the new scaffold. Mixing
//! in transcripts already rated in earlier rounds (anchors: fresh ids, shuffled with the new
//! items, balanced across the earlier conditions) lowers what being in the round gives away, and
//! the anchors' second ratings measure how the raters drifted between rounds (same rater) and how
//! new raters calibrate against the earlier ones. Pure: takes the earlier keys' items, returns the
//! choice.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// An item of an earlier round, as anchor selection needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierItem<'a> {
    pub round: &'a str,
    pub cell_id: &'a str,
    pub model: &'a str,
    pub scaffold: &'a str,
    /// Raters the item went to in that round.
    pub raters: &'a [String],
    /// Only first ratings make an anchor's reference: re-ratings, anchors and adjudications of
    /// earlier rounds are not candidates themselves.
    pub first: bool,
}

/// One anchor: an earlier transcript, blinded again under a fresh id, and who rates it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorChoice {
    pub cell_id: String,
    /// The round whose rating it is compared with.
    pub from_round: String,
    pub raters: Vec<String>,
}

/// How many anchors a round gets: the larger of a count and a share of its new items.
pub fn anchor_count(new_items: usize, count: u32, share: f64) -> usize {
    let by_share = (share * new_items as f64).round();
    (count as usize).max(if by_share.is_finite() && by_share > 0.0 {
        by_share as usize
    } else {
        0
    })
}

/// Chooses up to `n` anchors from the earlier rounds' first-rated items, balanced across their
/// conditions (model × scaffold): conditions are visited in turn (in a random order), each giving
/// its next transcript, preferring transcripts whose earlier raters rate this round too (their
/// second rating measures drift). Each anchor goes to its earlier raters who are in this round
/// and to every rater new in this round (calibration); with fewer than `per_item` such raters it
/// is filled up from the round's other raters with the fewest anchors so far.
pub fn choose_anchors(
    earlier: &[EarlierItem<'_>],
    n: usize,
    round_raters: &[String],
    per_item: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<AnchorChoice> {
    let earlier_raters: BTreeSet<&str> = earlier
        .iter()
        .flat_map(|i| i.raters.iter().map(String::as_str))
        .collect();
    let newcomers: Vec<&String> = round_raters
        .iter()
        .filter(|r| !earlier_raters.contains(r.as_str()))
        .collect();
    // One candidate per transcript: its first rating's round.
    let mut seen = BTreeSet::new();
    let mut by_condition: BTreeMap<(&str, &str), Vec<&EarlierItem<'_>>> = BTreeMap::new();
    for item in earlier.iter().filter(|i| i.first) {
        if seen.insert(item.cell_id) {
            by_condition
                .entry((item.model, item.scaffold))
                .or_default()
                .push(item);
        }
    }
    let returning = |item: &EarlierItem<'_>| {
        item.raters
            .iter()
            .filter(|r| round_raters.contains(r))
            .count()
    };
    let mut queues: Vec<Vec<&EarlierItem<'_>>> = by_condition
        .into_values()
        .map(|mut items| {
            items.shuffle(rng);
            // Stable: among equally returning items the shuffled order stays; the best is last.
            items.sort_by_key(|i| returning(i).min(1));
            items
        })
        .collect();
    queues.shuffle(rng);

    let mut load: BTreeMap<&str, usize> = round_raters.iter().map(|r| (r.as_str(), 0)).collect();
    let mut chosen = Vec::new();
    while chosen.len() < n && queues.iter().any(|q| !q.is_empty()) {
        for queue in &mut queues {
            if chosen.len() >= n {
                break;
            }
            let Some(item) = queue.pop() else { continue };
            let mut raters: Vec<String> = item
                .raters
                .iter()
                .filter(|r| round_raters.contains(r))
                .cloned()
                .collect();
            raters.extend(newcomers.iter().map(|r| (*r).clone()));
            while raters.len() < per_item.min(round_raters.len()) {
                let next = round_raters
                    .iter()
                    .filter(|r| !raters.contains(r))
                    .map(|r| ((load[r.as_str()], rng.random::<u32>()), r))
                    .min()
                    .map(|(_, r)| r.clone())
                    .expect("fewer raters chosen than the round has");
                raters.push(next);
            }
            for r in &raters {
                *load.get_mut(r.as_str()).expect("a round rater") += 1;
            }
            chosen.push(AnchorChoice {
                cell_id: item.cell_id.to_string(),
                from_round: item.round.to_string(),
                raters,
            });
        }
    }
    chosen
}

/// One model's exposure in a round: how many of its items are of a condition new in this round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelShare {
    pub items: usize,
    pub new_condition_items: usize,
    /// `new_condition_items / items`: the chance that an item of this model in this round is of
    /// a new condition, the most a rater can infer from being in the round.
    pub share: f64,
}

/// A round that holds conditions (model × scaffold) no earlier round held: comparisons between
/// them and the earlier conditions cross rounds. Recorded in the key; `blind` warns about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confounding {
    /// Conditions present only in this round, as "model / scaffold".
    pub new_conditions: Vec<String>,
    pub anchors: usize,
    pub by_model: BTreeMap<String, ModelShare>,
    /// Over the whole round.
    pub share: f64,
}

/// The confounding of a round, or `None` when there is no earlier round or the round holds no
/// new condition. `round_items` are the (model, scaffold) of every item of the round, anchors
/// included (`anchor` true).
pub fn confounding(
    earlier_conditions: &BTreeSet<(String, String)>,
    round_items: &[(&str, &str, bool)],
) -> Option<Confounding> {
    if earlier_conditions.is_empty() {
        return None;
    }
    let is_new = |m: &str, s: &str| !earlier_conditions.contains(&(m.to_string(), s.to_string()));
    let new_conditions: BTreeSet<String> = round_items
        .iter()
        .filter(|(m, s, anchor)| !anchor && is_new(m, s))
        .map(|(m, s, _)| format!("{m} / {s}"))
        .collect();
    if new_conditions.is_empty() {
        return None;
    }
    let mut by_model: BTreeMap<String, ModelShare> = BTreeMap::new();
    for (m, s, anchor) in round_items {
        let e = by_model.entry(m.to_string()).or_insert(ModelShare {
            items: 0,
            new_condition_items: 0,
            share: 0.0,
        });
        e.items += 1;
        e.new_condition_items += usize::from(!anchor && is_new(m, s));
    }
    for e in by_model.values_mut() {
        e.share = e.new_condition_items as f64 / e.items as f64;
    }
    let total: usize = by_model.values().map(|e| e.items).sum();
    let new: usize = by_model.values().map(|e| e.new_condition_items).sum();
    Some(Confounding {
        new_conditions: new_conditions.into_iter().collect(),
        anchors: round_items.iter().filter(|i| i.2).count(),
        by_model,
        share: new as f64 / total.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    fn earlier(raters: &[String]) -> Vec<EarlierItem<'_>> {
        let models = ["a", "b", "c"];
        let scaffolds = ["s1", "s2"];
        let cells: &'static [&'static str] = &[
            "c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10", "c11",
            "c12", "c13", "c14", "c15", "c16", "c17",
        ];
        let mut out = Vec::new();
        let mut i = 0;
        for m in models {
            for s in scaffolds {
                for _ in 0..3 {
                    let k = (i % 3) * 2 % raters.len();
                    out.push(EarlierItem {
                        round: "round-1",
                        cell_id: cells[i],
                        model: m,
                        scaffold: s,
                        raters: &raters[k..k + 2],
                        first: true,
                    });
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn the_count_is_the_larger_of_count_and_share() {
        assert_eq!(anchor_count(45, 0, 0.0), 0);
        assert_eq!(anchor_count(45, 10, 0.0), 10);
        assert_eq!(anchor_count(45, 10, 0.5), 23);
        assert_eq!(anchor_count(0, 0, 0.5), 0);
    }

    #[test]
    fn anchors_are_balanced_over_conditions_and_reach_old_and_new_raters() {
        let all: Vec<String> = ["r1", "r2", "r3", "r4"].map(String::from).to_vec();
        let items = earlier(&all);
        let round_raters: Vec<String> = ["r1", "r2", "r3", "n1"].map(String::from).to_vec();
        let chosen = choose_anchors(&items, 12, &round_raters, 2, &mut rng());
        assert_eq!(chosen.len(), 12);
        let mut per_condition: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for c in &chosen {
            let item = items.iter().find(|i| i.cell_id == c.cell_id).unwrap();
            *per_condition
                .entry((item.model, item.scaffold))
                .or_default() += 1;
            // Its earlier raters who are here, and the newcomer.
            for r in item.raters.iter().filter(|r| round_raters.contains(r)) {
                assert!(c.raters.contains(r), "{c:?}");
            }
            assert!(c.raters.contains(&"n1".to_string()), "{c:?}");
            assert!(c.raters.len() >= 2);
        }
        assert_eq!(per_condition.len(), 6);
        assert!(per_condition.values().all(|&n| n == 2), "{per_condition:?}");
        // Distinct transcripts, and never more than there are.
        let cells: BTreeSet<&str> = chosen.iter().map(|c| c.cell_id.as_str()).collect();
        assert_eq!(cells.len(), 12);
        assert_eq!(
            choose_anchors(&items, 100, &round_raters, 2, &mut rng()).len(),
            18
        );
    }

    #[test]
    fn confounding_counts_new_conditions_per_model_and_anchors_dilute_it() {
        let earlier: BTreeSet<(String, String)> = [("a", "s1"), ("b", "s1")]
            .iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect();
        assert!(confounding(&BTreeSet::new(), &[("a", "s2", false)]).is_none());
        assert!(confounding(&earlier, &[("a", "s1", false)]).is_none());
        let without = [("a", "s2", false), ("a", "s2", false), ("c", "s1", false)];
        let c = confounding(&earlier, &without).unwrap();
        assert_eq!(c.new_conditions, vec!["a / s2", "c / s1"]);
        assert_eq!(c.by_model["a"].share, 1.0);
        assert_eq!(c.share, 1.0);
        let with = [
            ("a", "s2", false),
            ("a", "s2", false),
            ("c", "s1", false),
            ("a", "s1", true),
            ("a", "s1", true),
            ("b", "s1", true),
        ];
        let c = confounding(&earlier, &with).unwrap();
        assert_eq!(c.by_model["a"].share, 0.5);
        assert_eq!(c.by_model["b"].share, 0.0);
        assert_eq!(c.by_model["c"].share, 1.0);
        assert_eq!(c.share, 0.5);
        assert_eq!(c.anchors, 3);
    }
}
