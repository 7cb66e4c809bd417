//! Synthetic data with a known answer, for tests, benches and sanity checks: clustered
//! embeddings (k-means), corpora drawn from planted topics (LDA), and the adjusted Rand index.
//!
//! Draws use the seeded ChaCha8 generator (`train::seeded`): normal variates by Box-Muller,
//! gamma variates by Marsaglia & Tsang (2000; shape < 1 by the `U^(1/a)` boost), Dirichlet
//! vectors as normalised gammas.

use rand::Rng as _;

use crate::train::{seeded, Rng};

/// A standard normal variate (Box-Muller, one of the pair).
pub fn normal(rng: &mut Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]: ln is finite
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Gamma(shape, 1) variate; `shape` must be positive (else 0).
pub fn gamma(shape: f64, rng: &mut Rng) -> f64 {
    if shape <= 0.0 || !shape.is_finite() {
        return 0.0;
    }
    if shape < 1.0 {
        let u: f64 = rng.gen();
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.gen();
        if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// A draw from Dirichlet(`alpha`). If every gamma underflows (tiny alphas), one component,
/// chosen in proportion to `alpha`, gets all the mass.
pub fn dirichlet(alpha: &[f64], rng: &mut Rng) -> Vec<f64> {
    let mut g: Vec<f64> = alpha.iter().map(|&a| gamma(a, rng)).collect();
    let sum: f64 = g.iter().sum();
    if sum > 0.0 {
        g.iter_mut().for_each(|v| *v /= sum);
    } else if !g.is_empty() {
        let i = categorical(alpha, rng);
        g.iter_mut().for_each(|v| *v = 0.0);
        g[i] = 1.0;
    }
    g
}

/// An index drawn in proportion to the non-negative `weights` (the last positive one if
/// rounding runs past the end; 0 if none is positive).
pub fn categorical(weights: &[f64], rng: &mut Rng) -> usize {
    let total: f64 = weights.iter().sum();
    let u = rng.gen::<f64>() * total;
    let mut acc = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        acc += w;
        if w > 0.0 && acc > u {
            return i;
        }
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// `clusters * per_cluster` rows of `dim` values around random unit directions, with
/// isotropic normal noise of total standard deviation `spread` (per value
/// `spread / sqrt(dim)`), in cluster order, and each row's cluster.
pub fn planted_clusters(
    clusters: usize,
    per_cluster: usize,
    dim: usize,
    spread: f32,
    seed: u64,
) -> (Vec<f32>, Vec<usize>) {
    let mut rng = seeded(seed);
    let sd = spread as f64 / (dim.max(1) as f64).sqrt();
    let mut data = Vec::with_capacity(clusters * per_cluster * dim);
    let mut truth = Vec::with_capacity(clusters * per_cluster);
    for c in 0..clusters {
        let mut centre: Vec<f64> = (0..dim).map(|_| normal(&mut rng)).collect();
        let norm = centre.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        centre.iter_mut().for_each(|v| *v /= norm);
        for _ in 0..per_cluster {
            data.extend(centre.iter().map(|&m| (m + sd * normal(&mut rng)) as f32));
            truth.push(c);
        }
    }
    (data, truth)
}

/// The adjusted Rand index of two labellings of the same items (Hubert & Arabie 1985): 1 for
/// the same partition, about 0 for independent ones. 1 when both put everything together
/// (or there are fewer than 2 items).
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len().min(b.len());
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![0u64; ka * kb];
    let mut ra = vec![0u64; ka];
    let mut rb = vec![0u64; kb];
    for (&x, &y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
        ra[x] += 1;
        rb[y] += 1;
    }
    let pairs = |c: u64| (c * c.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.iter().map(|&c| pairs(c)).sum();
    let sa: f64 = ra.iter().map(|&c| pairs(c)).sum();
    let sb: f64 = rb.iter().map(|&c| pairs(c)).sum();
    let all = pairs(n as u64);
    if all == 0.0 {
        return 1.0;
    }
    let expected = sa * sb / all;
    let max = 0.5 * (sa + sb);
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// The shape of a planted-topic corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct PlantedSpec {
    pub topics: usize,
    pub vocab: usize,
    pub docs: usize,
    /// Document lengths are uniform in `min_len..=max_len`.
    pub min_len: usize,
    pub max_len: usize,
    /// Symmetric Dirichlet parameter of each document's topic mix.
    pub doc_alpha: f64,
    /// Words in each topic's block; blocks start `vocab / topics` apart, so a support wider
    /// than that overlaps the next topic's ("disjoint-ish").
    pub support: usize,
    /// Share of each topic's mass spread evenly over the whole vocabulary.
    pub leak: f64,
}

impl PlantedSpec {
    /// The test corpus of the LDA tests: 8 topics over 200 words, 1,000 documents of 16-60
    /// tokens, mixes from Dirichlet(0.2), blocks of 30 words (5 shared with the next), 5 %
    /// leak.
    pub fn small() -> Self {
        Self {
            topics: 8,
            vocab: 200,
            docs: 1000,
            min_len: 16,
            max_len: 60,
            doc_alpha: 0.2,
            support: 30,
            leak: 0.05,
        }
    }
}

/// A corpus and the topics and mixes it was drawn from.
#[derive(Clone, Debug)]
pub struct Planted {
    /// `topics x vocab`, rows summing to 1.
    pub phi: Vec<f32>,
    /// `docs x topics`, rows summing to 1.
    pub theta: Vec<f32>,
    pub docs: Vec<Vec<u16>>,
}

/// Planted topics (each: Dirichlet(1) weights over its block, plus the leak) and a corpus
/// drawn from them.
pub fn planted(spec: &PlantedSpec, seed: u64) -> Planted {
    let mut rng = seeded(seed);
    let (t_n, v_n) = (spec.topics, spec.vocab.min(1 << 16));
    let mut phi = vec![0f32; t_n * v_n];
    let stride = v_n.checked_div(t_n).unwrap_or(0);
    for t in 0..t_n {
        let w = dirichlet(&vec![1.0; spec.support.min(v_n)], &mut rng);
        let row = &mut phi[t * v_n..(t + 1) * v_n];
        for (j, p) in w.iter().enumerate() {
            row[(t * stride + j) % v_n] += ((1.0 - spec.leak) * p) as f32;
        }
        for v in row.iter_mut() {
            *v += (spec.leak / v_n as f64) as f32;
        }
    }
    let (theta, docs) = draw_docs(&phi, t_n, v_n, spec, &mut rng);
    Planted { phi, theta, docs }
}

/// More documents from the same topics `phi` (`topics x vocab`), e.g. a held-out set.
pub fn draw_more(phi: &[f32], spec: &PlantedSpec, seed: u64) -> Planted {
    let mut rng = seeded(seed);
    let v_n = spec.vocab.min(1 << 16);
    let (theta, docs) = draw_docs(phi, spec.topics, v_n, spec, &mut rng);
    Planted {
        phi: phi.to_vec(),
        theta,
        docs,
    }
}

fn draw_docs(
    phi: &[f32],
    t_n: usize,
    v_n: usize,
    spec: &PlantedSpec,
    rng: &mut Rng,
) -> (Vec<f32>, Vec<Vec<u16>>) {
    // Cumulative rows for drawing words by binary search.
    let cum: Vec<Vec<f64>> = phi
        .chunks_exact(v_n.max(1))
        .map(|row| {
            row.iter()
                .scan(0.0, |acc, &p| {
                    *acc += p as f64;
                    Some(*acc)
                })
                .collect()
        })
        .collect();
    let mut theta = Vec::with_capacity(spec.docs * t_n);
    let mut docs = Vec::with_capacity(spec.docs);
    let lo = spec.min_len.min(spec.max_len);
    for _ in 0..spec.docs {
        let mix = dirichlet(&vec![spec.doc_alpha; t_n], rng);
        theta.extend(mix.iter().map(|&p| p as f32));
        let len = rng.gen_range(lo..=spec.max_len.max(lo));
        let mut doc = Vec::with_capacity(len);
        for _ in 0..len {
            let t = categorical(&mix, rng);
            let Some(c) = cum.get(t) else { break };
            let u = rng.gen::<f64>() * c.last().copied().unwrap_or(0.0);
            let w = c.partition_point(|&x| x <= u).min(v_n - 1);
            doc.push(w as u16);
        }
        docs.push(doc);
    }
    (theta, docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_dirichlet_have_the_right_means() {
        let mut rng = seeded(1);
        for shape in [0.1, 0.5, 1.0, 3.0] {
            let n = 20_000;
            let mean: f64 = (0..n).map(|_| gamma(shape, &mut rng)).sum::<f64>() / n as f64;
            assert!(
                (mean - shape).abs() < 0.05 * shape.max(1.0),
                "{shape}: {mean}"
            );
        }
        let d = dirichlet(&[0.2; 8], &mut rng);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn ari_is_one_for_relabelled_partitions_and_low_for_noise() {
        let a = [0, 0, 1, 1, 2, 2];
        assert!((adjusted_rand_index(&a, &[5, 5, 3, 3, 0, 0]) - 1.0).abs() < 1e-12);
        let mut rng = seeded(2);
        let x: Vec<usize> = (0..2000).map(|_| rng.gen_range(0..5)).collect();
        let y: Vec<usize> = (0..2000).map(|_| rng.gen_range(0..5)).collect();
        assert!(adjusted_rand_index(&x, &y).abs() < 0.02);
    }

    #[test]
    fn planted_corpus_has_the_asked_shape() {
        let spec = PlantedSpec::small();
        let p = planted(&spec, 3);
        assert_eq!(p.docs.len(), 1000);
        assert!(p.docs.iter().all(|d| (16..=60).contains(&d.len())));
        assert!(p.docs.iter().flatten().all(|&w| (w as usize) < 200));
        for row in p.phi.chunks_exact(200) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }
}
