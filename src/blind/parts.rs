//! A rater's packet in numbered parts (`[blinding] max_items_per_packet`): nobody works through
//! a 20,000-item form, so a packet above the cap becomes ⌈n / cap⌉ parts of near-equal size,
//! each a complete form of its own.
//!
//! Parts must tell a rater nothing about the conditions, so each condition (model × scaffold) is
//! spread over the parts as evenly as the numbers allow: the rater's items are grouped by
//! condition (conditions in a random order, the packet's shuffled order kept within each) and
//! dealt round-robin, then each part is shuffled. A condition with `c` items thus lands
//! ⌊c/k⌋ or ⌈c/k⌉ times in each of the `k` parts, and which parts get the leftovers is random:
//! a part's number does not predict its conditions beyond chance. Pure and seeded.

use std::collections::{BTreeSet, HashMap};

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which part of a rater's packet a file is (1-based), and of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartOf {
    pub part: usize,
    pub of: usize,
}

impl PartOf {
    /// Digits of a part number in names: at least 2, so `part-01` … `part-12` sort as numbers.
    pub fn width(of: usize) -> usize {
        of.to_string().len().max(2)
    }

    /// `part-03`, as file names and messages write it.
    pub fn label(&self) -> String {
        format!("part-{:0width$}", self.part, width = Self::width(self.of))
    }

    /// The part's file name without extension: `RATER-part-03`.
    pub fn file_stem(&self, rater: &str) -> String {
        format!("{rater}-{}", self.label())
    }

    /// What the rater sees: `Part 3 of 5`.
    pub fn describe(&self) -> String {
        format!("Part {} of {}", self.part, self.of)
    }
}

/// Splits one rater's packet (`order`: item indices in the order the rater would see them) into
/// parts of at most `max` items, balanced across `condition(item)`. A packet of at most `max`
/// items stays whole (one part, `order` unchanged, `rng` untouched).
pub fn split(
    order: &[usize],
    condition: impl Fn(usize) -> usize,
    max: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let n = order.len();
    if max == 0 || n <= max {
        return vec![order.to_vec()];
    }
    let k = n.div_ceil(max);
    // Conditions in a random order: the deal's leftovers then fall on random conditions and
    // parts, rather than always giving part 1 one more of the first condition.
    let mut conditions: Vec<usize> = order
        .iter()
        .map(|&i| condition(i))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    conditions.shuffle(rng);
    let rank: HashMap<usize, usize> = conditions
        .iter()
        .enumerate()
        .map(|(r, &c)| (c, r))
        .collect();
    let mut grouped = order.to_vec();
    // Stable: the packet's shuffled order is kept within a condition.
    grouped.sort_by_key(|&i| rank[&condition(i)]);
    let mut parts = vec![Vec::with_capacity(n / k + 1); k];
    for (j, i) in grouped.into_iter().enumerate() {
        parts[j % k].push(i);
    }
    for part in &mut parts {
        part.shuffle(rng);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// 3 models × 4 scaffolds with uneven counts: item i is of condition `i % 12`, except that a
    /// few conditions get extra items.
    fn packet(n: usize) -> (Vec<usize>, Vec<usize>) {
        let condition: Vec<usize> = (0..n).map(|i| (i * 7 + i / 13) % 12).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(99));
        (order, condition)
    }

    fn counts(part: &[usize], condition: &[usize]) -> Vec<usize> {
        let mut c = vec![0; 12];
        for &i in part {
            c[condition[i]] += 1;
        }
        c
    }

    #[test]
    fn no_split_at_or_under_the_cap() {
        let (order, condition) = packet(40);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let before = rng.clone();
        assert_eq!(
            split(&order, |i| condition[i], 40, &mut rng),
            vec![order.clone()]
        );
        assert_eq!(split(&order, |i| condition[i], 1000, &mut rng), vec![order]);
        assert_eq!(rng, before, "no randomness drawn for a whole packet");
    }

    #[test]
    fn parts_hold_every_item_once_and_sizes_differ_by_at_most_one() {
        for (n, max, k) in [
            (41, 40, 2),
            (100, 7, 15),
            (120, 30, 4),
            (13, 1, 13),
            (50, 49, 2),
        ] {
            let (order, condition) = packet(n);
            let parts = split(
                &order,
                |i| condition[i],
                max,
                &mut ChaCha8Rng::seed_from_u64(3),
            );
            assert_eq!(parts.len(), k, "n {n}, max {max}");
            let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1 && *hi <= max, "n {n}, max {max}: {sizes:?}");
            let mut all: Vec<usize> = parts.concat();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn each_condition_is_spread_evenly_over_the_parts() {
        for (n, max) in [(120, 30), (137, 20), (1000, 64)] {
            let (order, condition) = packet(n);
            let parts = split(
                &order,
                |i| condition[i],
                max,
                &mut ChaCha8Rng::seed_from_u64(5),
            );
            let k = parts.len();
            let total = counts(&order, &condition);
            for part in &parts {
                for (c, (&here, &all)) in counts(part, &condition).iter().zip(&total).enumerate() {
                    assert!(
                        here == all / k || here == all.div_ceil(k),
                        "n {n}: condition {c} has {here} of {all} items in a part of {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_parts_and_another_seed_other_ones() {
        let (order, condition) = packet(200);
        let run = |seed| {
            split(
                &order,
                |i| condition[i],
                30,
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn part_numbers_do_not_predict_where_the_leftovers_go() {
        // Two conditions of 5 items in 2 parts: one part gets 3 of each condition. Over many
        // seeds, part 1 should get the extra item of condition 0 about half the time.
        let condition = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        let order: Vec<usize> = (0..10).collect();
        let first_gets_extra = (0..400)
            .filter(|&seed| {
                let parts = split(
                    &order,
                    |i| condition[i],
                    5,
                    &mut ChaCha8Rng::seed_from_u64(seed),
                );
                parts[0].iter().filter(|&&i| condition[i] == 0).count() == 3
            })
            .count();
        assert!(
            (140..=260).contains(&first_gets_extra),
            "{first_gets_extra} of 400"
        );
    }

    #[test]
    fn names_are_zero_padded_to_the_part_count() {
        let p = PartOf { part: 3, of: 5 };
        assert_eq!(p.file_stem("R2"), "R2-part-03");
        assert_eq!(p.describe(), "Part 3 of 5");
        assert_eq!(PartOf { part: 7, of: 120 }.label(), "part-007");
    }
}
