//! How good are the scenes on labelled clips: held-out perplexity against a unigram model,
//! topic coherence, stability across seeds, and how much the main scene says about the
//! quadrant, with clips held out by artist (`valence scenes evaluate`).
//!
//! Protocol ([`evaluate`]):
//! - the clips are split into [`EvalConfig::folds`] folds by artist
//!   (`train::folds::grouped_folds`, stratified by quadrant; labels are used for nothing
//!   else until the NMI);
//! - in each fold a codebook of [`EvalConfig::words`] words is fitted on the **training
//!   clips' segments only** (spherical k-means, [`kmeans::fit`]), and every clip becomes the
//!   document of its segments' words under it, so no held-out audio shapes the vocabulary;
//! - for each number of scenes `T` and each LDA seed `0..seeds`, LDA is fitted on the
//!   training documents and measured:
//!   - **held-out perplexity** of the test documents by document completion
//!     ([`Model::perplexity`]: even positions folded in, odd positions scored), next to the
//!     add-one [`Unigram`] of the training documents on the same tokens;
//!   - **coherence**: NPMI ([`npmi_coherence`]) over the top-[`COHERENCE_WORDS`] words of each
//!     scene, from document co-occurrence in the training documents, averaged over scenes;
//!     the reference is the same figure for random word sets ([`random_coherence`]);
//!   - **NMI** between each test clip's main scene (the argmax of its folded-in mix) and its
//!     quadrant label ([`nmi`]), next to the chance NMI of the same scene sizes
//!     ([`chance_nmi`]: the main scenes shuffled among the test clips);
//! - **stability**: per fold, the mean Hellinger distance of the matched topics
//!   ([`match_topics`]) between every pair of the seeds' fits ([`stability`]);
//! - figures are averaged over seeds within a fold, then given as mean ± sd over folds.
//!
//! [`choose_topics`] picks `T` at the knee of the held-out perplexity curve; [`fit_all`] fits the chosen `T` on all
//! clips (with the shipped codebook) for the list of scenes.

use rand::seq::SliceRandom;
use serde::Serialize;

use super::kmeans::{self, Codebook, KMeansConfig};
use super::lda::{self, match_topics, LdaConfig, LdaFit, Model, Unigram};
use super::naming::main_scenes;
use super::ThemeError;
use crate::train::folds::grouped_folds;
use crate::train::metrics::MeanSd;
use crate::train::seeded;

/// Words per scene that coherence looks at.
pub const COHERENCE_WORDS: usize = 10;
/// Random word sets (or shuffles) behind a chance figure.
pub const CHANCE_DRAWS: usize = 200;

/// Numbers of scenes compared by default: up to far more scenes than a person would browse,
/// so the shape of the perplexity curve (and its knee) shows.
pub const DEFAULT_GRID: [usize; 9] = [4, 8, 12, 16, 24, 32, 48, 64, 96];

/// One labelled clip: what the evaluation reads of it.
#[derive(Clone, Debug)]
pub struct Clip {
    /// The segments' musicnn embeddings, in time order (any length; normalised by k-means).
    pub segments: Vec<Vec<f32>>,
    /// The quadrant label's index, 0..=3.
    pub quadrant: usize,
    /// The artist key the folds group by.
    pub group: String,
}

/// What to measure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalConfig {
    /// Numbers of scenes to compare.
    pub topics: Vec<usize>,
    /// LDA seeds per fold and `T` (`0..seeds`; at least 1, 2 for stability).
    pub seeds: usize,
    /// Artist-grouped folds (at least 2).
    pub folds: usize,
    /// Words of the per-fold codebooks.
    pub words: usize,
    /// Seed of the folds and of the per-fold codebooks.
    pub split_seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            topics: DEFAULT_GRID.to_vec(),
            seeds: 3,
            folds: 5,
            words: kmeans::DEFAULT_WORDS,
            split_seed: 0,
        }
    }
}

/// One fold's sizes.
#[derive(Clone, Debug, Serialize)]
pub struct FoldInfo {
    pub train_clips: usize,
    pub test_clips: usize,
    pub train_artists: usize,
    pub test_artists: usize,
    pub train_tokens: usize,
    pub test_tokens: usize,
    /// The fold codebook's final k-means inertia per training segment (mean `1 - cos`).
    pub codebook_inertia: f64,
}

/// The figures of one `T`, mean ± sd over folds.
#[derive(Clone, Debug, Serialize)]
pub struct TopicFigures {
    pub topics: usize,
    pub perplexity: MeanSd,
    pub unigram_perplexity: MeanSd,
    /// LDA perplexity / unigram perplexity, per fold.
    pub perplexity_ratio: MeanSd,
    /// Mean NPMI of the scenes' top words (training documents).
    pub coherence: MeanSd,
    /// Mean matched Hellinger distance between the seeds' fits (0 = the same topics).
    pub stability: MeanSd,
    /// NMI of test clips' main scene and quadrant.
    pub nmi: MeanSd,
    /// The same with the main scenes shuffled among the test clips.
    pub chance_nmi: MeanSd,
}

/// Everything [`evaluate`] measured.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub config: EvalConfig,
    pub clips: usize,
    pub segments: usize,
    pub artists: usize,
    pub folds: Vec<FoldInfo>,
    /// NPMI of random word sets of [`COHERENCE_WORDS`] (training documents), per fold.
    pub random_coherence: MeanSd,
    pub rows: Vec<TopicFigures>,
    /// [`choose_topics`] of the rows.
    pub chosen_topics: usize,
}

/// The flat rows of `idx`'s segments, for k-means.
pub fn segment_rows(clips: &[Clip], idx: &[usize]) -> (Vec<f32>, usize) {
    let dim = clips
        .iter()
        .flat_map(|c| c.segments.first())
        .map(Vec::len)
        .next()
        .unwrap_or(0);
    let mut rows = Vec::new();
    for &i in idx {
        for s in &clips[i].segments {
            rows.extend_from_slice(s);
        }
    }
    (rows, dim)
}

/// Every clip's document under `codebook` (segments without a word are left out).
pub fn documents(codebook: &Codebook, clips: &[Clip]) -> Vec<Vec<u16>> {
    clips
        .iter()
        .map(|c| {
            c.segments
                .iter()
                .filter_map(|s| codebook.assign(s))
                .collect()
        })
        .collect()
}

/// The `n` most probable words of topic `t` (ties to the lower word).
pub fn top_words(model: &Model, t: usize, n: usize) -> Vec<u16> {
    let phi = model.topic_word(t);
    let mut idx: Vec<usize> = (0..phi.len()).collect();
    idx.sort_by(|&a, &b| phi[b].total_cmp(&phi[a]).then(a.cmp(&b)));
    idx.into_iter().take(n).map(|w| w as u16).collect()
}

/// Which documents hold each word, as sorted document lists.
pub struct DocFrequency {
    docs: usize,
    holders: Vec<Vec<u32>>,
}

impl DocFrequency {
    pub fn new<D: AsRef<[u16]>>(docs: &[D], vocab: usize) -> Self {
        let mut holders = vec![Vec::new(); vocab];
        for (d, doc) in docs.iter().enumerate() {
            let mut words: Vec<u16> = doc.as_ref().to_vec();
            words.sort_unstable();
            words.dedup();
            for w in words {
                if let Some(h) = holders.get_mut(w as usize) {
                    h.push(d as u32);
                }
            }
        }
        Self {
            docs: docs.len(),
            holders,
        }
    }

    fn count(&self, w: u16) -> usize {
        self.holders.get(w as usize).map_or(0, Vec::len)
    }

    fn joint(&self, a: u16, b: u16) -> usize {
        let (Some(x), Some(y)) = (self.holders.get(a as usize), self.holders.get(b as usize))
        else {
            return 0;
        };
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    n += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        n
    }
}

/// Mean normalised pointwise mutual information over the pairs of `words` (Bouma 2009;
/// as topic coherence, Aletras & Stevenson 2013), with document co-occurrence:
/// `NPMI = ln(p(a,b) / (p(a) p(b))) / -ln p(a,b)`, `p` the share of documents holding the
/// word(s). In [-1, 1]: 1 when the words always come together, 0 when independent, -1 when
/// they never share a document (also the value for a pair that never co-occurs). NaN with
/// fewer than two words.
pub fn npmi_coherence(df: &DocFrequency, words: &[u16]) -> f64 {
    let n = df.docs.max(1) as f64;
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for i in 0..words.len() {
        for j in i + 1..words.len() {
            let joint = df.joint(words[i], words[j]);
            let v = if joint == 0 {
                -1.0
            } else {
                let pab = joint as f64 / n;
                let pa = df.count(words[i]) as f64 / n;
                let pb = df.count(words[j]) as f64 / n;
                if pab >= 1.0 {
                    1.0
                } else {
                    (pab / (pa * pb)).ln() / -pab.ln()
                }
            };
            sum += v;
            pairs += 1;
        }
    }
    sum / pairs as f64
}

/// Mean [`npmi_coherence`] of [`CHANCE_DRAWS`] word sets of `n` distinct words drawn uniformly
/// from the vocabulary: what coherence a "scene" of unrelated words gets.
pub fn random_coherence(df: &DocFrequency, vocab: usize, n: usize, seed: u64) -> f64 {
    let mut rng = seeded(seed);
    let mut all: Vec<u16> = (0..vocab.min(1 << 16)).map(|w| w as u16).collect();
    let mut sum = 0.0;
    for _ in 0..CHANCE_DRAWS {
        all.shuffle(&mut rng);
        sum += npmi_coherence(df, &all[..n.min(all.len())]);
    }
    sum / CHANCE_DRAWS as f64
}

fn entropy(counts: impl Iterator<Item = usize>, n: f64) -> f64 {
    counts
        .filter(|&c| c > 0)
        .map(|c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalised mutual information of two labelings of the same items, `2 I(A;B) / (H(A) +
/// H(B))` (the arithmetic normalisation, scikit-learn's default), in [0, 1]: 1 when either
/// determines the other, 0 when independent. 1 when both are constant (identical
/// partitions), 0 when only one is. Panics if the lengths differ.
pub fn nmi(a: &[usize], b: &[usize]) -> f64 {
    assert_eq!(a.len(), b.len(), "nmi: labelings of different lengths");
    let n = a.len() as f64;
    if a.is_empty() {
        return 0.0;
    }
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let mut joint = vec![0usize; ka * kb];
    let mut ca = vec![0usize; ka];
    let mut cb = vec![0usize; kb];
    for (&x, &y) in a.iter().zip(b) {
        joint[x * kb + y] += 1;
        ca[x] += 1;
        cb[y] += 1;
    }
    let (ha, hb) = (
        entropy(ca.iter().copied(), n),
        entropy(cb.iter().copied(), n),
    );
    if ha + hb <= 0.0 {
        return 1.0;
    }
    let mut mi = 0.0;
    for x in 0..ka {
        for y in 0..kb {
            let c = joint[x * kb + y];
            if c > 0 {
                let pxy = c as f64 / n;
                mi += pxy * (pxy * n * n / (ca[x] as f64 * cb[y] as f64)).ln();
            }
        }
    }
    (2.0 * mi / (ha + hb)).clamp(0.0, 1.0)
}

/// Mean [`nmi`] of `a` shuffled among the items ([`CHANCE_DRAWS`] shuffles) against `b`: the
/// NMI that clusters of `a`'s sizes get by chance (positive on small samples).
pub fn chance_nmi(a: &[usize], b: &[usize], seed: u64) -> f64 {
    let mut rng = seeded(seed);
    let mut s = a.to_vec();
    let mut sum = 0.0;
    for _ in 0..CHANCE_DRAWS {
        s.shuffle(&mut rng);
        sum += nmi(&s, b);
    }
    sum / CHANCE_DRAWS as f64
}

/// Mean matched Hellinger distance ([`match_topics`]) over every pair of `models`; 0 for
/// fewer than two.
pub fn stability(models: &[&Model]) -> Result<f64, ThemeError> {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for i in 0..models.len() {
        for j in i + 1..models.len() {
            let m = match_topics(models[i], models[j])?;
            let d: Vec<f64> = m.iter().flatten().map(|x| x.distance).collect();
            sum += d.iter().sum::<f64>() / d.len().max(1) as f64;
            pairs += 1;
        }
    }
    Ok(if pairs == 0 { 0.0 } else { sum / pairs as f64 })
}

/// The main scene of each document folded into `model` ([`lda::DEFAULT_FOLD_IN_ITERATIONS`]
/// sweeps, document `d` with seed `seed + d`).
pub fn folded_main_scenes(
    model: &Model,
    docs: &[Vec<u16>],
    seed: u64,
) -> Result<Vec<usize>, ThemeError> {
    let mut theta = Vec::with_capacity(docs.len() * model.topics());
    for (d, doc) in docs.iter().enumerate() {
        theta.extend(model.fold_in(
            doc,
            lda::DEFAULT_FOLD_IN_ITERATIONS,
            seed.wrapping_add(d as u64),
        )?);
    }
    Ok(main_scenes(&theta, model.topics()))
}

/// The knee of the held-out perplexity curve: among the rows up to the one of lowest mean
/// perplexity (more scenes past it only predict worse), the `T` furthest below the straight
/// line from the first of them to that best row, with `T` and perplexity each scaled to
/// [0, 1] over those rows (Kneedle, Satopää et al. 2011, on a linear `T` axis). Past the
/// knee each added scene buys less held-out likelihood than the ones before it. With fewer
/// than three such rows, the `T` of lowest perplexity. `None` for no rows.
///
/// The knee depends on the grid of `T` tried: report it with the grid.
pub fn choose_topics(rows: &[TopicFigures]) -> Option<usize> {
    let mut rows: Vec<&TopicFigures> = rows.iter().collect();
    rows.sort_by_key(|r| r.topics);
    let best = rows
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.perplexity.mean.total_cmp(&b.1.perplexity.mean))?
        .0;
    let curve = &rows[..=best];
    if curve.len() < 3 {
        return Some(curve[best].topics);
    }
    let (t0, t1) = (curve[0].topics as f64, curve[best].topics as f64);
    let (p0, p1) = (curve[0].perplexity.mean, curve[best].perplexity.mean);
    if p0.partial_cmp(&p1) != Some(std::cmp::Ordering::Greater) || t1 <= t0 {
        return Some(curve[best].topics);
    }
    curve
        .iter()
        .map(|r| {
            let x = (r.topics as f64 - t0) / (t1 - t0);
            let y = (r.perplexity.mean - p1) / (p0 - p1);
            (r.topics, 1.0 - x - y)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(t, _)| t)
}

/// Runs the protocol of the module doc. `progress` hears a line per step.
pub fn evaluate(
    clips: &[Clip],
    cfg: &EvalConfig,
    mut progress: impl FnMut(&str),
) -> Result<EvalReport, ThemeError> {
    if cfg.seeds == 0 || cfg.topics.is_empty() {
        return Err(ThemeError::Parameter(
            "at least one seed and one number of scenes".into(),
        ));
    }
    let groups: Vec<String> = clips.iter().map(|c| c.group.clone()).collect();
    let labels: Vec<usize> = clips.iter().map(|c| c.quadrant).collect();
    let folds = grouped_folds(&groups, &labels, cfg.folds, cfg.split_seed)
        .map_err(|e| ThemeError::Parameter(format!("folds: {e}")))?;
    let artists = |idx: &[usize]| {
        let mut g: Vec<&str> = idx.iter().map(|&i| groups[i].as_str()).collect();
        g.sort_unstable();
        g.dedup();
        g.len()
    };
    let t_n = cfg.topics.len();
    // [topic][fold] per-fold means over seeds.
    let mut perp = vec![Vec::new(); t_n];
    let mut uni = vec![Vec::new(); t_n];
    let mut ratio = vec![Vec::new(); t_n];
    let mut coh = vec![Vec::new(); t_n];
    let mut stab = vec![Vec::new(); t_n];
    let mut nmis = vec![Vec::new(); t_n];
    let mut chance = vec![Vec::new(); t_n];
    let mut random_coh = Vec::new();
    let mut infos = Vec::new();
    let seeds = cfg.seeds as f64;
    for (f, fold) in folds.iter().enumerate() {
        progress(&format!(
            "fold {}/{}: codebook of {} words on {} training clips",
            f + 1,
            folds.len(),
            cfg.words,
            fold.train.len()
        ));
        let (rows, dim) = segment_rows(clips, &fold.train);
        let km = kmeans::fit(
            &rows,
            dim,
            &KMeansConfig {
                k: cfg.words,
                seed: cfg.split_seed.wrapping_add(f as u64),
                ..Default::default()
            },
        )?;
        let used = (rows.len() / dim.max(1))
            .saturating_sub(km.skipped_rows)
            .max(1);
        let docs = documents(&km.codebook, clips);
        let train: Vec<Vec<u16>> = fold.train.iter().map(|&i| docs[i].clone()).collect();
        let test: Vec<Vec<u16>> = fold.test.iter().map(|&i| docs[i].clone()).collect();
        let test_labels: Vec<usize> = fold.test.iter().map(|&i| labels[i]).collect();
        let vocab = km.codebook.k();
        infos.push(FoldInfo {
            train_clips: fold.train.len(),
            test_clips: fold.test.len(),
            train_artists: artists(&fold.train),
            test_artists: artists(&fold.test),
            train_tokens: train.iter().map(Vec::len).sum(),
            test_tokens: test.iter().map(Vec::len).sum(),
            codebook_inertia: km.inertia.last().copied().unwrap_or(f64::NAN) / used as f64,
        });
        let df = DocFrequency::new(&train, vocab);
        random_coh.push(random_coherence(
            &df,
            vocab,
            COHERENCE_WORDS,
            cfg.split_seed,
        ));
        let unigram = Unigram::fit(&train, vocab)?.perplexity(&test)?;
        for (ti, &topics) in cfg.topics.iter().enumerate() {
            progress(&format!(
                "fold {}/{}: {topics} scenes x {} seed(s)",
                f + 1,
                folds.len(),
                cfg.seeds
            ));
            let mut fits: Vec<LdaFit> = Vec::new();
            let (mut p, mut c, mut n, mut ch) = (0.0, 0.0, 0.0, 0.0);
            for s in 0..cfg.seeds as u64 {
                let fit = lda::fit(&train, vocab, &LdaConfig::new(topics).seed(s))?;
                p += fit.model.perplexity(&test, s)?;
                c += (0..topics)
                    .map(|t| npmi_coherence(&df, &top_words(&fit.model, t, COHERENCE_WORDS)))
                    .sum::<f64>()
                    / topics as f64;
                let main = folded_main_scenes(&fit.model, &test, s)?;
                n += nmi(&main, &test_labels);
                ch += chance_nmi(&main, &test_labels, s);
                fits.push(fit);
            }
            perp[ti].push(p / seeds);
            uni[ti].push(unigram);
            ratio[ti].push(p / seeds / unigram);
            coh[ti].push(c / seeds);
            nmis[ti].push(n / seeds);
            chance[ti].push(ch / seeds);
            let models: Vec<&Model> = fits.iter().map(|f| &f.model).collect();
            stab[ti].push(stability(&models)?);
        }
    }
    let rows: Vec<TopicFigures> = cfg
        .topics
        .iter()
        .enumerate()
        .map(|(ti, &topics)| TopicFigures {
            topics,
            perplexity: MeanSd::of(&perp[ti]),
            unigram_perplexity: MeanSd::of(&uni[ti]),
            perplexity_ratio: MeanSd::of(&ratio[ti]),
            coherence: MeanSd::of(&coh[ti]),
            stability: MeanSd::of(&stab[ti]),
            nmi: MeanSd::of(&nmis[ti]),
            chance_nmi: MeanSd::of(&chance[ti]),
        })
        .collect();
    let all: Vec<usize> = (0..clips.len()).collect();
    Ok(EvalReport {
        config: cfg.clone(),
        clips: clips.len(),
        segments: clips.iter().map(|c| c.segments.len()).sum(),
        artists: artists(&all),
        folds: infos,
        random_coherence: MeanSd::of(&random_coh),
        chosen_topics: choose_topics(&rows).unwrap_or(lda::DEFAULT_TOPICS),
        rows,
    })
}

/// One LDA fit of `T` scenes on every clip's document under `codebook`, and how its main
/// scenes relate to the quadrants.
pub struct AllFit {
    pub docs: Vec<Vec<u16>>,
    pub fit: LdaFit,
    pub main: Vec<usize>,
    /// NMI of the main scenes and the quadrant labels (training clips: an in-sample figure).
    pub nmi: f64,
    pub chance_nmi: f64,
}

/// Fits `topics` scenes (seed `seed`) on all `clips` under `codebook`.
pub fn fit_all(
    clips: &[Clip],
    codebook: &Codebook,
    topics: usize,
    seed: u64,
) -> Result<AllFit, ThemeError> {
    let docs = documents(codebook, clips);
    let fit = lda::fit(&docs, codebook.k(), &LdaConfig::new(topics).seed(seed))?;
    let main = main_scenes(fit.theta(), topics);
    let labels: Vec<usize> = clips.iter().map(|c| c.quadrant).collect();
    Ok(AllFit {
        nmi: nmi(&main, &labels),
        chance_nmi: chance_nmi(&main, &labels, seed),
        docs,
        fit,
        main,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::synthetic::{planted, PlantedSpec};

    #[test]
    fn nmi_is_one_for_a_relabelling_and_near_zero_for_independence() {
        let a = [0, 0, 1, 1, 2, 2];
        let b = [5, 5, 3, 3, 0, 0];
        assert!((nmi(&a, &b) - 1.0).abs() < 1e-12);
        // A 2x2 design where each A class holds both B classes equally: I = 0.
        let a = [0, 0, 1, 1];
        let b = [0, 1, 0, 1];
        assert!(nmi(&a, &b).abs() < 1e-12);
        // A hand-computed case: A = [0,0,0,1], B = [0,0,1,1].
        let (a, b) = ([0, 0, 0, 1], [0, 0, 1, 1]);
        let h = |ps: &[f64]| -ps.iter().map(|p| p * p.ln()).sum::<f64>();
        let (ha, hb) = (h(&[0.75, 0.25]), h(&[0.5, 0.5]));
        let mi = 0.5 * (0.5f64 / (0.75 * 0.5)).ln()
            + 0.25 * (0.25f64 / (0.75 * 0.5)).ln()
            + 0.25 * (0.25f64 / (0.25 * 0.5)).ln();
        assert!((nmi(&a, &b) - 2.0 * mi / (ha + hb)).abs() < 1e-12);
    }

    #[test]
    fn chance_nmi_is_small_but_positive_and_below_a_real_relation() {
        let b: Vec<usize> = (0..200).map(|i| i % 4).collect();
        let a: Vec<usize> = b.iter().map(|&q| q * 2 % 8).collect(); // determined by b
        let c = chance_nmi(&a, &b, 1);
        assert!(c > 0.0 && c < 0.05, "{c}");
        assert!(nmi(&a, &b) > 0.99);
    }

    #[test]
    fn npmi_of_always_together_never_together_and_independent_words() {
        // Words 0 and 1 always together (half the documents); word 2 never with them; words
        // 3 and 4 independent (each in half the documents, together in a quarter).
        let docs: Vec<Vec<u16>> = (0..8)
            .map(|d| {
                let mut v = Vec::new();
                if d % 2 == 0 {
                    v.extend([0, 1]);
                } else {
                    v.push(2);
                }
                if d % 4 < 2 {
                    v.push(3);
                }
                if d % 2 == 0 {
                    v.push(4);
                }
                v
            })
            .collect();
        let df = DocFrequency::new(&docs, 5);
        assert!((npmi_coherence(&df, &[0, 1]) - 1.0).abs() < 1e-12);
        assert!((npmi_coherence(&df, &[0, 2]) + 1.0).abs() < 1e-12);
        assert!(npmi_coherence(&df, &[3, 4]).abs() < 1e-12);
        // The mean over the three pairs of {0, 1, 2}: (1 - 1 - 1) / 3.
        assert!((npmi_coherence(&df, &[0, 1, 2]) + 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn planted_topics_are_more_coherent_than_random_words_and_stable() {
        let spec = PlantedSpec::small();
        let p = planted(&spec, 4);
        let df = DocFrequency::new(&p.docs, spec.vocab);
        let fits: Vec<LdaFit> = (0..2)
            .map(|s| lda::fit(&p.docs, spec.vocab, &LdaConfig::new(spec.topics).seed(s)))
            .collect::<Result<_, _>>()
            .expect("fit");
        let coh: f64 = (0..spec.topics)
            .map(|t| npmi_coherence(&df, &top_words(&fits[0].model, t, COHERENCE_WORDS)))
            .sum::<f64>()
            / spec.topics as f64;
        let rnd = random_coherence(&df, spec.vocab, COHERENCE_WORDS, 0);
        assert!(coh > rnd + 0.1, "planted {coh} vs random {rnd}");
        let models: Vec<&Model> = fits.iter().map(|f| &f.model).collect();
        let s = stability(&models).expect("match");
        assert!(s > 0.0 && s < 0.3, "{s}");
        // A fit on other planted topics is much further away.
        let q = planted(&spec, 5);
        let other = lda::fit(&q.docs, spec.vocab, &LdaConfig::new(spec.topics)).expect("fit");
        let far = stability(&[&fits[0].model, &other.model]).expect("match");
        assert!(far > s + 0.2, "{far} vs {s}");
        assert_eq!(stability(&models[..1]).expect("one"), 0.0);
    }

    #[test]
    fn the_smallest_topic_count_near_the_best_perplexity_is_chosen() {
        let row = |topics, p| TopicFigures {
            topics,
            perplexity: MeanSd { mean: p, sd: 0.0 },
            unigram_perplexity: MeanSd::default(),
            perplexity_ratio: MeanSd::default(),
            coherence: MeanSd::default(),
            stability: MeanSd::default(),
            nmi: MeanSd::default(),
            chance_nmi: MeanSd::default(),
        };
        // A falling curve that bends at 8: scaled, 8 lies 0.61 below the chord from 4 to
        // the best row (32), 16 only 0.45.
        let rows = [
            row(16, 30.0),
            row(4, 100.0),
            row(8, 40.0),
            row(32, 20.0),
            row(64, 25.0), // worse than 32: past the best, not considered
        ];
        assert_eq!(choose_topics(&rows), Some(8));
        // On a straight line every point lies on the chord (no knee): ties go to the
        // smaller T.
        let line = [row(4, 30.0), row(8, 20.0), row(12, 10.0)];
        assert_eq!(choose_topics(&line), Some(4));
        // Two rows: the better one; one row: itself.
        assert_eq!(choose_topics(&[row(4, 50.0), row(8, 60.0)]), Some(4));
        assert_eq!(choose_topics(&rows[1..2]), Some(4));
        assert_eq!(choose_topics(&[]), None);
    }

    /// Clips of two planted timbres by six artists: each clip's segments point near one of
    /// two directions; the evaluation runs end to end and its figures are in range.
    #[test]
    fn evaluate_runs_on_a_small_planted_collection() {
        let mut rng = seeded(9);
        let mut clips = Vec::new();
        for i in 0..48 {
            let kind = i % 2;
            let segments = (0..8)
                .map(|_| {
                    (0..16)
                        .map(|j| {
                            let base = if (j < 8) == (kind == 0) { 1.0 } else { 0.0 };
                            base + 0.3 * crate::themes::synthetic::normal(&mut rng) as f32
                        })
                        .collect()
                })
                .collect();
            clips.push(Clip {
                segments,
                quadrant: kind * 2 + (i / 2) % 2,
                group: format!("artist {}", i % 6),
            });
        }
        let cfg = EvalConfig {
            topics: vec![2, 4],
            seeds: 2,
            folds: 3,
            words: 8,
            split_seed: 0,
        };
        let r = evaluate(&clips, &cfg, |_| {}).expect("evaluate");
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.folds.len(), 3);
        assert_eq!(r.folds.iter().map(|f| f.test_clips).sum::<usize>(), 48);
        assert_eq!(r.segments, 48 * 8);
        for row in &r.rows {
            assert!(row.perplexity.mean > 1.0 && row.perplexity.mean <= 8.5);
            assert!((-1.0..=1.0).contains(&row.coherence.mean));
            assert!((0.0..=1.0).contains(&row.nmi.mean));
            assert!((0.0..=1.0).contains(&row.stability.mean));
        }
        // Two timbres: LDA with 2 scenes predicts held-out words better than one unigram.
        assert!(r.rows[0].perplexity_ratio.mean < 0.9, "{:?}", r.rows[0]);
        assert!(cfg.topics.contains(&r.chosen_topics));
    }
}
