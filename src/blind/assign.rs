//! Who rates what: every item goes to exactly `per_item` distinct raters, rater loads differ by at
//! most one, each packet is balanced across models and scaffolds as far as the numbers allow, and
//! every pair of raters shares items where the design permits (so pairwise agreement exists).
//!
//! Greedy and seeded: items are visited stratum by stratum (model x scaffold, strata and items in
//! random order), and each item takes, one at a time, the raters with the lowest load; among
//! those, the ones that least often rated this item's model and scaffold, then the pairs that
//! least often shared an item, then a random draw. Always taking a lowest-load rater keeps loads
//! within one of each other (the standard round-robin argument). Among equally loaded raters, one
//! that would form a pair that has not yet shared an item is preferred, so pairs get covered early.

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    #[error("--per-item must be at least 1")]
    ZeroPerItem,
    #[error("{per_item} ratings per item need at least {per_item} raters, but there are {raters}")]
    TooFewRaters { per_item: usize, raters: usize },
    #[error("there are no items to assign")]
    NoItems,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// For each item, its raters (indices), in the order they were chosen.
    pub raters_of: Vec<Vec<usize>>,
    /// For each rater, its items (indices) in packet order (shuffled per rater).
    pub packets: Vec<Vec<usize>>,
}

/// `strata[i]` is item i's (model, scaffold) pair, as small indices.
pub fn assign(
    strata: &[(usize, usize)],
    raters: usize,
    per_item: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Assignment, AssignError> {
    if per_item == 0 {
        return Err(AssignError::ZeroPerItem);
    }
    if per_item > raters {
        return Err(AssignError::TooFewRaters { per_item, raters });
    }
    if strata.is_empty() {
        return Err(AssignError::NoItems);
    }
    let models = strata.iter().map(|s| s.0).max().unwrap_or(0) + 1;
    let scaffolds = strata.iter().map(|s| s.1).max().unwrap_or(0) + 1;

    // Visit order: strata in random order, items shuffled within each.
    let mut groups: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    for (i, s) in strata.iter().enumerate() {
        match groups.iter_mut().find(|(key, _)| key == s) {
            Some((_, items)) => items.push(i),
            None => groups.push((*s, vec![i])),
        }
    }
    groups.shuffle(rng);
    for (_, items) in &mut groups {
        items.shuffle(rng);
    }

    let mut load = vec![0usize; raters];
    let mut by_model = vec![vec![0usize; models]; raters];
    let mut by_scaffold = vec![vec![0usize; scaffolds]; raters];
    let mut shared = vec![vec![0usize; raters]; raters];
    let mut raters_of = vec![Vec::new(); strata.len()];
    for (_, items) in &groups {
        for &item in items {
            let (model, scaffold) = strata[item];
            let mut chosen: Vec<usize> = Vec::with_capacity(per_item);
            for _ in 0..per_item {
                let best = (0..raters)
                    .filter(|r| !chosen.contains(r))
                    .map(|r| {
                        let pair_overlap: usize = chosen.iter().map(|&c| shared[r][c]).sum();
                        // Pairs that have never shared an item come first, so that every pair
                        // gets some; there are few of them, so balance is barely disturbed.
                        let existing_pairs = chosen.iter().filter(|&&c| shared[r][c] > 0).count();
                        let key = (
                            load[r],
                            existing_pairs,
                            by_model[r][model] + by_scaffold[r][scaffold],
                            pair_overlap,
                            rng.random::<u32>(),
                        );
                        (key, r)
                    })
                    .min()
                    .map(|(_, r)| r)
                    .expect("per_item <= raters");
                chosen.push(best);
            }
            for &r in &chosen {
                load[r] += 1;
                by_model[r][model] += 1;
                by_scaffold[r][scaffold] += 1;
                for &other in &chosen {
                    if other != r {
                        shared[r][other] += 1;
                    }
                }
            }
            raters_of[item] = chosen;
        }
    }

    let mut packets = vec![Vec::new(); raters];
    for (item, rs) in raters_of.iter().enumerate() {
        for &r in rs {
            packets[r].push(item);
        }
    }
    for packet in &mut packets {
        packet.shuffle(rng);
    }
    Ok(Assignment { raters_of, packets })
}

/// Pairs of raters that share no item (empty when every pair can compute agreement).
pub fn unpaired(assignment: &Assignment, raters: usize) -> Vec<(usize, usize)> {
    let mut together = vec![vec![false; raters]; raters];
    for rs in &assignment.raters_of {
        for &a in rs {
            for &b in rs {
                together[a][b] = true;
            }
        }
    }
    let mut out = Vec::new();
    for (a, row) in together.iter().enumerate() {
        out.extend((a + 1..raters).filter(|&b| !row[b]).map(|b| (a, b)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn matrix(models: usize, scaffolds: usize, prompts: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for m in 0..models {
            for s in 0..scaffolds {
                for _ in 0..prompts {
                    out.push((m, s));
                }
            }
        }
        out
    }

    fn check_invariants(strata: &[(usize, usize)], raters: usize, per_item: usize, a: &Assignment) {
        for rs in &a.raters_of {
            assert_eq!(rs.len(), per_item);
            let mut distinct = rs.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), per_item, "distinct raters");
        }
        assert_eq!(a.packets.len(), raters);
        let loads: Vec<usize> = a.packets.iter().map(Vec::len).collect();
        let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
        assert!(max - min <= 1, "loads {loads:?}");
        assert_eq!(loads.iter().sum::<usize>(), strata.len() * per_item);
        for (r, packet) in a.packets.iter().enumerate() {
            for &item in packet {
                assert!(a.raters_of[item].contains(&r));
            }
        }
    }

    #[test]
    fn the_papers_design_is_dual_coded_balanced_and_fully_paired() {
        let strata = matrix(3, 4, 15);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = assign(&strata, 3, 2, &mut rng).unwrap();
        check_invariants(&strata, 3, 2, &a);
        assert!(unpaired(&a, 3).is_empty());
        // Each rater: 120 items; 40 per model and 30 per scaffold if perfectly balanced.
        for packet in &a.packets {
            assert_eq!(packet.len(), 120);
            for m in 0..3 {
                let n = packet.iter().filter(|&&i| strata[i].0 == m).count();
                assert!((38..=42).contains(&n), "model {m}: {n}");
            }
            for s in 0..4 {
                let n = packet.iter().filter(|&&i| strata[i].1 == s).count();
                assert!((28..=32).contains(&n), "scaffold {s}: {n}");
            }
        }
    }

    #[test]
    fn every_pair_shares_items_with_more_raters() {
        let strata = matrix(3, 4, 15);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let a = assign(&strata, 6, 2, &mut rng).unwrap();
        check_invariants(&strata, 6, 2, &a);
        assert!(unpaired(&a, 6).is_empty(), "{:?}", unpaired(&a, 6));
    }

    #[test]
    fn seeds_decide_everything() {
        let strata = matrix(2, 2, 5);
        let a = assign(&strata, 3, 2, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let b = assign(&strata, 3, 2, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let c = assign(&strata, 3, 2, &mut ChaCha8Rng::seed_from_u64(6)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn impossible_designs_are_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            assign(&matrix(1, 1, 3), 2, 3, &mut rng),
            Err(AssignError::TooFewRaters {
                per_item: 3,
                raters: 2
            })
        );
        assert_eq!(
            assign(&matrix(1, 1, 3), 2, 0, &mut rng),
            Err(AssignError::ZeroPerItem)
        );
        assert_eq!(assign(&[], 2, 1, &mut rng), Err(AssignError::NoItems));
    }

    proptest! {
        #[test]
        fn invariants_hold_for_any_design(
            models in 1usize..4, scaffolds in 1usize..5, prompts in 1usize..8,
            raters in 1usize..7, per_item in 1usize..4, seed in any::<u64>(),
        ) {
            prop_assume!(per_item <= raters);
            let strata = matrix(models, scaffolds, prompts);
            let a = assign(&strata, raters, per_item, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            check_invariants(&strata, raters, per_item, &a);
            // Enough items to pair everyone: every pair shares one.
            let pairs = raters * (raters - 1) / 2;
            if per_item >= 2 && strata.len() * per_item * (per_item - 1) / 2 >= 4 * pairs {
                prop_assert!(unpaired(&a, raters).is_empty());
            }
        }
    }
}
