//! Artist-grouped, class-stratified cross-validation splits.
//!
//! Songs by one artist share production, voice and often mood, so a model tested on an artist
//! it was trained on looks better than it is. Every split here keeps each group (artist) wholly
//! on one side, and balances test folds by size and class mix as far as the groups allow.
//!
//! Method: groups are ordered by name, shuffled with the seeded generator (`train::seeded`), then stably
//! sorted by size (largest first), so equal-sized groups come in a seeded order. Each group goes
//! greedily to the fold where it raises the cost least; the cost of a fold is
//! `sum_c (count_c / target_c - 1)^2 + (size / target_size - 1)^2`, where the targets are the
//! fold's share of each class and of all items. A few passes of single-group moves then lower
//! the total cost further. The result depends only on the multiset of (group, index, label)
//! triples and the seed.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;

/// One cross-validation fold: indices into the caller's item list, both sorted ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Why folds could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("k must be at least 2, got {0}")]
    TooFewFolds(usize),
    #[error("{groups} group(s) cannot fill {k} folds")]
    TooFewGroups { groups: usize, k: usize },
    #[error("{groups} group entries but {labels} labels")]
    LengthMismatch { groups: usize, labels: usize },
}

struct Group {
    items: Vec<usize>,
    /// Items per class.
    counts: Vec<f64>,
}

/// Groups the given items by group name (ordered by name), with per-class counts.
fn collect_groups(items: &[usize], groups: &[String], labels: &[usize]) -> Vec<Group> {
    let n_classes = items.iter().map(|&i| labels[i] + 1).max().unwrap_or(0);
    let mut by_name: BTreeMap<&str, Group> = BTreeMap::new();
    for &i in items {
        let g = by_name.entry(groups[i].as_str()).or_insert_with(|| Group {
            items: Vec::new(),
            counts: vec![0.0; n_classes],
        });
        g.items.push(i);
        g.counts[labels[i]] += 1.0;
    }
    by_name.into_values().collect()
}

/// Assigns groups to bins whose target shares are `shares` (summing to 1). Returns each
/// group's bin. Every bin receives at least one group when there are at least as many groups
/// as bins.
fn assign(groups: &[Group], shares: &[f64], seed: u64) -> Vec<usize> {
    let n_bins = shares.len();
    let n_classes = groups.first().map_or(0, |g| g.counts.len());
    let mut class_totals = vec![0.0; n_classes];
    for g in groups {
        for (t, c) in class_totals.iter_mut().zip(&g.counts) {
            *t += c;
        }
    }
    let total: f64 = class_totals.iter().sum();
    // targets[b][c]; the last column is the bin's size target.
    let targets: Vec<Vec<f64>> = shares
        .iter()
        .map(|s| {
            class_totals
                .iter()
                .chain(std::iter::once(&total))
                .map(|t| s * t)
                .collect()
        })
        .collect();
    let with_size = |g: &Group| -> Vec<f64> {
        let mut v = g.counts.clone();
        v.push(g.items.len() as f64);
        v
    };
    let amounts: Vec<Vec<f64>> = groups.iter().map(with_size).collect();

    // Cost of one bin's tallies; zero targets (absent class, or a zero share) are skipped.
    let cost = |tally: &[f64], target: &[f64]| -> f64 {
        tally
            .iter()
            .zip(target)
            .filter(|(_, t)| **t > 0.0)
            .map(|(x, t)| (x / t - 1.0).powi(2))
            .sum()
    };
    let shifted = |tally: &[f64], amount: &[f64], sign: f64| -> Vec<f64> {
        tally
            .iter()
            .zip(amount)
            .map(|(x, a)| x + sign * a)
            .collect()
    };

    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.shuffle(&mut super::seeded(seed));
    order.sort_by_key(|&g| std::cmp::Reverse(groups[g].items.len()));

    let mut tallies = vec![vec![0.0; n_classes + 1]; n_bins];
    let mut members = vec![0usize; n_bins];
    let mut bin_of = vec![0usize; groups.len()];
    for &g in &order {
        let mut best: Option<(f64, f64, usize)> = None;
        for b in 0..n_bins {
            let delta = cost(&shifted(&tallies[b], &amounts[g], 1.0), &targets[b])
                - cost(&tallies[b], &targets[b]);
            // Ties go to the bin furthest below its size target, then the lowest index.
            let fill = tallies[b][n_classes] - targets[b][n_classes];
            let better = match best {
                None => true,
                Some((bd, bf, _)) => delta < bd - 1e-12 || (delta <= bd + 1e-12 && fill < bf),
            };
            if better {
                best = Some((delta, fill, b));
            }
        }
        let b = best.map_or(0, |(_, _, b)| b);
        tallies[b] = shifted(&tallies[b], &amounts[g], 1.0);
        members[b] += 1;
        bin_of[g] = b;
    }

    // Any bin left without a group (only possible with tiny shares) takes the smallest group
    // from a bin that has more than one.
    for b in 0..n_bins {
        if members[b] > 0 {
            continue;
        }
        if let Some(&g) = order
            .iter()
            .rev()
            .find(|&&g| members[bin_of[g]] > 1 && bin_of[g] != b)
        {
            let from = bin_of[g];
            tallies[from] = shifted(&tallies[from], &amounts[g], -1.0);
            members[from] -= 1;
            tallies[b] = shifted(&tallies[b], &amounts[g], 1.0);
            members[b] += 1;
            bin_of[g] = b;
        }
    }

    // Refinement: move single groups while that lowers the total cost.
    for _ in 0..20 {
        let mut moved = false;
        for &g in &order {
            let from = bin_of[g];
            if members[from] <= 1 {
                continue;
            }
            let out_tally = shifted(&tallies[from], &amounts[g], -1.0);
            let gain_out = cost(&tallies[from], &targets[from]) - cost(&out_tally, &targets[from]);
            let mut best: Option<(f64, usize)> = None;
            for b in (0..n_bins).filter(|&b| b != from) {
                let delta = cost(&shifted(&tallies[b], &amounts[g], 1.0), &targets[b])
                    - cost(&tallies[b], &targets[b])
                    - gain_out;
                if delta < -1e-9 && best.is_none_or(|(d, _)| delta < d) {
                    best = Some((delta, b));
                }
            }
            if let Some((_, b)) = best {
                tallies[from] = out_tally;
                members[from] -= 1;
                tallies[b] = shifted(&tallies[b], &amounts[g], 1.0);
                members[b] += 1;
                bin_of[g] = b;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    bin_of
}

/// Artist-grouped, class-stratified k-fold split.
///
/// `groups[i]` is item i's group (artist key), `labels[i]` its class index. Returns `k` folds;
/// every index is in exactly one test set, no group is in both train and test of a fold, and
/// every test set is non-empty. Deterministic for a given seed.
///
/// Errors: `k < 2`, `groups.len() != labels.len()`, fewer distinct groups than `k`.
pub fn grouped_folds(
    groups: &[String],
    labels: &[usize],
    k: usize,
    seed: u64,
) -> Result<Vec<Fold>, FoldError> {
    if k < 2 {
        return Err(FoldError::TooFewFolds(k));
    }
    if groups.len() != labels.len() {
        return Err(FoldError::LengthMismatch {
            groups: groups.len(),
            labels: labels.len(),
        });
    }
    let all: Vec<usize> = (0..groups.len()).collect();
    let gs = collect_groups(&all, groups, labels);
    if gs.len() < k {
        return Err(FoldError::TooFewGroups {
            groups: gs.len(),
            k,
        });
    }
    let bin_of = assign(&gs, &vec![1.0 / k as f64; k], seed);
    let mut fold_of = vec![0usize; groups.len()];
    for (g, &b) in gs.iter().zip(&bin_of) {
        for &i in &g.items {
            fold_of[i] = b;
        }
    }
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                all.iter().partition(|&&i| fold_of[i] == f);
            Fold { train, test }
        })
        .collect())
}

/// Carves a grouped, class-balanced validation set (about `frac` of the items) out of `train`,
/// e.g. for early stopping. Returns `(inner_train, validation)`, both sorted ascending; no
/// group is on both sides.
///
/// With `frac <= 0` (or NaN), or fewer than two groups in `train`, the validation set is empty.
/// `frac` is clamped so both sides keep at least one group. Indices in `train` index `groups`
/// and `labels`; an index out of their bounds panics (a caller bug).
pub fn inner_split(
    train: &[usize],
    groups: &[String],
    labels: &[usize],
    frac: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut sorted = train.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let gs = collect_groups(&sorted, groups, labels);
    if frac.is_nan() || frac <= 0.0 || gs.len() < 2 {
        return (sorted, Vec::new());
    }
    let frac = frac.min(1.0);
    // Bin 0 = validation.
    let bin_of = assign(&gs, &[frac, 1.0 - frac], seed);
    let mut val = Vec::new();
    let mut rest = Vec::new();
    for (g, &b) in gs.iter().zip(&bin_of) {
        if b == 0 {
            val.extend_from_slice(&g.items);
        } else {
            rest.extend_from_slice(&g.items);
        }
    }
    val.sort_unstable();
    rest.sort_unstable();
    (rest, val)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;
    use std::collections::{HashMap, HashSet};

    /// 720 items, 524 artists: 4 with 12 items, 8 with 6, 20 with 3, 72 with 2, 420 with 1.
    /// Each artist leans to one class (70 %), like real catalogues.
    fn synthetic() -> (Vec<String>, Vec<usize>) {
        let mut sizes = vec![12; 4];
        sizes.extend([6; 8]);
        sizes.extend([3; 20]);
        sizes.extend([2; 72]);
        sizes.extend([1; 420]);
        let mut rng = crate::train::seeded(7);
        let mut groups = Vec::new();
        let mut labels = Vec::new();
        for (a, &n) in sizes.iter().enumerate() {
            let base = a % 4;
            for _ in 0..n {
                groups.push(format!("artist {a}"));
                labels.push(if rng.gen_range(0..10) < 7 {
                    base
                } else {
                    rng.gen_range(0..4)
                });
            }
        }
        assert_eq!(groups.len(), 720);
        assert_eq!(groups.iter().collect::<HashSet<_>>().len(), 524);
        (groups, labels)
    }

    fn check_valid(folds: &[Fold], groups: &[String], n: usize) {
        let mut seen = vec![0; n];
        for f in folds {
            assert!(!f.test.is_empty());
            let test_groups: HashSet<&String> = f.test.iter().map(|&i| &groups[i]).collect();
            for &i in &f.train {
                assert!(
                    !test_groups.contains(&groups[i]),
                    "group {} leaks",
                    groups[i]
                );
            }
            assert_eq!(f.train.len() + f.test.len(), n);
            for &i in &f.test {
                seen[i] += 1;
            }
            assert!(f.test.windows(2).all(|w| w[0] < w[1]));
            assert!(f.train.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(
            seen.iter().all(|&s| s == 1),
            "each index in exactly one test set"
        );
    }

    #[test]
    fn the_seeded_generator_is_reproducible() {
        let (mut a, mut b) = (crate::train::seeded(1), crate::train::seeded(1));
        for _ in 0..100 {
            assert_eq!(a.gen::<u64>(), b.gen::<u64>());
        }
        assert_ne!(
            crate::train::seeded(1).gen::<u64>(),
            crate::train::seeded(2).gen::<u64>()
        );
    }

    #[test]
    fn disjoint_artists_and_full_coverage() {
        let (groups, labels) = synthetic();
        for k in [2, 5, 10] {
            let folds = grouped_folds(&groups, &labels, k, 42).unwrap();
            assert_eq!(folds.len(), k);
            check_valid(&folds, &groups, groups.len());
        }
    }

    #[test]
    fn deterministic_per_seed_and_order_independent() {
        let (groups, labels) = synthetic();
        let a = grouped_folds(&groups, &labels, 5, 1).unwrap();
        let b = grouped_folds(&groups, &labels, 5, 1).unwrap();
        assert_eq!(a, b);
        let c = grouped_folds(&groups, &labels, 5, 2).unwrap();
        assert_ne!(a, c, "another seed should give another split");

        // Reversing the input gives the same partition (indices mapped back).
        let rg: Vec<String> = groups.iter().rev().cloned().collect();
        let rl: Vec<usize> = labels.iter().rev().copied().collect();
        let r = grouped_folds(&rg, &rl, 5, 1).unwrap();
        let n = groups.len();
        let key = |folds: &[Fold], map: &dyn Fn(usize) -> usize| {
            let mut sets: Vec<Vec<usize>> = folds
                .iter()
                .map(|f| {
                    let mut v: Vec<usize> = f.test.iter().map(|&i| map(i)).collect();
                    v.sort_unstable();
                    v
                })
                .collect();
            sets.sort();
            sets
        };
        // Within a group the items are interchangeable only by label, so compare group sets.
        fn gkey(folds: &[Fold], gs: &[String]) -> Vec<Vec<String>> {
            let mut sets: Vec<Vec<String>> = folds
                .iter()
                .map(|f| {
                    let mut v: Vec<String> = f.test.iter().map(|&i| gs[i].clone()).collect();
                    v.sort();
                    v.dedup();
                    v
                })
                .collect();
            sets.sort();
            sets
        }
        assert_eq!(gkey(&a, &groups), gkey(&r, &rg));
        assert_eq!(key(&a, &|i| i), key(&r, &|i| n - 1 - i));
    }

    #[test]
    fn balanced_sizes_and_classes() {
        let (groups, labels) = synthetic();
        let mut class_totals = [0usize; 4];
        for &l in &labels {
            class_totals[l] += 1;
        }
        for (k, seed) in [(5, 0), (5, 99), (10, 3)] {
            let folds = grouped_folds(&groups, &labels, k, seed).unwrap();
            let size_target = 720.0 / k as f64;
            for f in &folds {
                let dev = (f.test.len() as f64 - size_target).abs();
                assert!(
                    dev <= 2.0,
                    "k={k} fold size {} vs {size_target}",
                    f.test.len()
                );
                let mut counts = [0usize; 4];
                for &i in &f.test {
                    counts[labels[i]] += 1;
                }
                for c in 0..4 {
                    let target = class_totals[c] as f64 / k as f64;
                    let dev = (counts[c] as f64 - target).abs();
                    assert!(dev <= 2.0, "k={k} class {c}: {} vs {target:.1}", counts[c]);
                }
            }
        }
    }

    #[test]
    fn errors() {
        let g: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            grouped_folds(&g, &[0, 1, 2], 1, 0),
            Err(FoldError::TooFewFolds(1))
        );
        assert_eq!(
            grouped_folds(&g, &[0, 1], 2, 0),
            Err(FoldError::LengthMismatch {
                groups: 3,
                labels: 2
            })
        );
        assert_eq!(
            grouped_folds(&g, &[0, 1, 2], 4, 0),
            Err(FoldError::TooFewGroups { groups: 3, k: 4 })
        );
        let same = vec!["x".to_string(); 10];
        assert_eq!(
            grouped_folds(&same, &[0; 10], 2, 0),
            Err(FoldError::TooFewGroups { groups: 1, k: 2 })
        );
        assert!(grouped_folds(&[], &[], 2, 0).is_err());
        // Exactly k groups: one group per fold.
        let folds = grouped_folds(&g, &[0, 1, 2], 3, 0).unwrap();
        check_valid(&folds, &g, 3);
    }

    #[test]
    fn every_fold_gets_a_group_even_with_one_giant() {
        // One artist with 50 items and four singletons, k = 5.
        let mut g = vec!["giant".to_string(); 50];
        g.extend((0..4).map(|i| format!("s{i}")));
        let labels: Vec<usize> = (0..g.len()).map(|i| i % 4).collect();
        let folds = grouped_folds(&g, &labels, 5, 0).unwrap();
        check_valid(&folds, &g, g.len());
    }

    #[test]
    fn inner_split_is_grouped_and_sized() {
        let (groups, labels) = synthetic();
        let folds = grouped_folds(&groups, &labels, 5, 0).unwrap();
        let train = &folds[0].train;
        let (inner, val) = inner_split(train, &groups, &labels, 0.15, 5);
        assert_eq!(inner.len() + val.len(), train.len());
        let val_groups: HashSet<&String> = val.iter().map(|&i| &groups[i]).collect();
        assert!(inner.iter().all(|&i| !val_groups.contains(&groups[i])));
        let mut all: Vec<usize> = inner.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(&all, train);
        let target = 0.15 * train.len() as f64;
        assert!(
            (val.len() as f64 - target).abs() <= 2.0,
            "{} vs {target}",
            val.len()
        );
        // Class mix of validation follows the training set's.
        let mut tc: HashMap<usize, f64> = HashMap::new();
        let mut vc: HashMap<usize, f64> = HashMap::new();
        for &i in train {
            *tc.entry(labels[i]).or_default() += 1.0;
        }
        for &i in &val {
            *vc.entry(labels[i]).or_default() += 1.0;
        }
        for c in 0..4 {
            let want = 0.15 * tc[&c];
            assert!((vc.get(&c).copied().unwrap_or(0.0) - want).abs() <= 2.0);
        }
        // Deterministic.
        assert_eq!(
            inner_split(train, &groups, &labels, 0.15, 5),
            (inner.clone(), val.clone())
        );
    }

    #[test]
    fn inner_split_edge_cases() {
        let g: Vec<String> = ["a", "a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let l = [0, 1, 2, 3];
        assert_eq!(
            inner_split(&[0, 1, 2, 3], &g, &l, 0.0, 0),
            (vec![0, 1, 2, 3], vec![])
        );
        assert_eq!(
            inner_split(&[0, 1, 2, 3], &g, &l, f64::NAN, 0),
            (vec![0, 1, 2, 3], vec![])
        );
        // A single group cannot be split.
        assert_eq!(inner_split(&[0, 1], &g, &l, 0.5, 0), (vec![0, 1], vec![]));
        // Tiny and huge fractions still leave a group on each side.
        for frac in [0.01, 0.5, 0.99, 1.0, 5.0] {
            let (inner, val) = inner_split(&[0, 1, 2, 3], &g, &l, frac, 0);
            assert!(!inner.is_empty() && !val.is_empty(), "frac {frac}");
            assert_eq!(inner.len() + val.len(), 4);
        }
        assert_eq!(inner_split(&[], &g, &l, 0.2, 0), (vec![], vec![]));
    }
}
