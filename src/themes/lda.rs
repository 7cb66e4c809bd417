//! Scenes: latent Dirichlet allocation over audio-word documents, by collapsed Gibbs sampling.
//!
//! Model (Blei, Ng & Jordan 2003): each of `T` topics is a distribution `phi_t` over the `V`
//! words, drawn from a symmetric Dirichlet(`beta`); each document mixes the topics with
//! weights `theta_d` from a symmetric Dirichlet(`alpha`); each token picks a topic from
//! `theta_d`, then a word from that topic.
//!
//! Fitting (Griffiths & Steyvers 2004): `phi` and `theta` are integrated out and the token
//! topics `z` are sampled one at a time from
//! `p(z = t | rest) ∝ (n_dt + alpha) (n_wt + beta) / (n_t + V beta)`, where the counts leave
//! the token itself out. Tokens start with uniform random topics; a sweep visits every token
//! in corpus order. The sampler keeps `n_dt`, `n_wt` (word-major, so a word's `T` counts are
//! adjacent) and `n_t` as `u32`, the reciprocals `1 / (n_t + V beta)` up to date, and one
//! cumulative buffer of `T` weights: nothing is allocated per token. With `T` = 16 the dense
//! `O(T)` draw takes about 50 ns per token (measured) and SparseLDA's bookkeeping would not
//! pay off.
//!
//! The estimates average the counts of the last [`AVERAGED_SWEEPS`] sweeps (fewer if there are
//! fewer than twice as many sweeps): `phi_tw = (n_wt + beta) / (n_t + V beta)` and
//! `theta_dt = (n_dt + alpha) / (N_d + T alpha)`, with the averaged counts. Averaging a few
//! consecutive states lowers the noise of a single sample; topics do not swap labels within
//! a few sweeps of a converged chain.
//!
//! Fold-in ([`Model::fold_in`]) samples a new document's token topics from
//! `p(z = t) ∝ (n_dt + alpha) phi_tw` with `phi` fixed, starting from `p(z = t) ∝ phi_tw`,
//! discards the first half of the sweeps and averages `theta` over the rest. It depends only
//! on the model, the document and the seed.
//!
//! Held-out perplexity ([`Model::perplexity`]) is the document-completion estimate (Wallach,
//! Murray, Salakhutdinov & Mimno 2009): each held-out document's even-position tokens are
//! folded in, its odd-position tokens are scored with `p(w) = sum_t theta_t phi_tw`, and
//! `exp(-sum log p / scored tokens)` is reported. Interleaving (not first half / second half)
//! keeps a song's intro and outro on both sides. [`Unigram`] scores the same tokens, so the two
//! compare directly.
//!
//! Large corpora are sampled on [`DEFAULT_SHARDS`] threads by AD-LDA (see [`fit`]).
//!
//! Everything is deterministic for a fixed seed (and shard count): ChaCha8 streams, a fixed
//! visiting order, a fixed summation order, exact integer merges.
//!
//! Measured (the tests of this module; `benches/themes.rs`, 2-core machine):
//! - On the planted corpus of the tests (8 topics, 200 words, 1,000 documents of 16-60
//!   tokens) the word log-likelihood peaks within 50 sweeps and then holds; on 100,000
//!   documents (V = 128, T = 16) it levels off after about 100 sweeps sequentially and 150
//!   with two shards (-11.22 M at sweep 200 either way). Large corpora need more sweeps,
//!   hence [`DEFAULT_ITERATIONS`] = 200. That fit's median is 37 s in the bench (two shards,
//!   while another build shared the 2 cores; 32 s with two shards and 38 s sequentially in a
//!   one-off run under the same load), within the 60-s budget.
//! - Fold-in against the fit's own mixes of the training documents: mean Hellinger 0.084
//!   after 2 sweeps, 0.055 after 10, 0.046 after 20, 0.039 after 50, 0.034 after 200 (argmax
//!   agreement 0.95 to 0.98): [`DEFAULT_FOLD_IN_ITERATIONS`] = 50 is past the knee and costs
//!   well under a millisecond per track.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::{fnv64, ThemeError};
use crate::train::{seeded, Rng};

/// Scenes when the user sets none (see the `themes` module doc).
pub const DEFAULT_TOPICS: usize = 16;
/// Gibbs sweeps of a fit.
pub const DEFAULT_ITERATIONS: usize = 200;
/// Symmetric Dirichlet prior on each topic's word distribution.
pub const DEFAULT_BETA: f64 = 0.1;
/// Gibbs sweeps of a fold-in (the first half discarded).
pub const DEFAULT_FOLD_IN_ITERATIONS: usize = 50;
/// Final sweeps whose counts are averaged into `phi` and `theta`.
pub const AVERAGED_SWEEPS: usize = 10;
/// Shards of a large corpus when none is set (the 2 cores the budgets are set for).
pub const DEFAULT_SHARDS: usize = 2;
/// Corpora from this many tokens on are sharded by default (about 9,000 tracks at the
/// default stride; below it a fit takes a few seconds on one core).
pub const AUTO_SHARD_TOKENS: usize = 250_000;
/// Most shards (threads) of a fit.
pub const MAX_SHARDS: usize = 256;
/// Most topics (a sanity bound: a draw costs `O(T)` per token, topic matching `O(T^3)`).
pub const MAX_TOPICS: usize = 1024;
/// Most words (word ids are `u16`).
pub const MAX_VOCAB: usize = 1 << 16;

/// What to fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LdaConfig {
    /// Number of topics (scenes), 1..=[`MAX_TOPICS`].
    pub topics: usize,
    /// Gibbs sweeps (at least 1).
    pub iterations: usize,
    /// Symmetric Dirichlet prior on each document's topic mix (positive).
    pub alpha: f64,
    /// Symmetric Dirichlet prior on each topic's words (positive).
    pub beta: f64,
    pub seed: u64,
    /// Document shards sampled in parallel (AD-LDA, see [`fit`]); `Some(1)` is the exact
    /// sequential sampler. `None`: 1 below [`AUTO_SHARD_TOKENS`] tokens, else
    /// [`DEFAULT_SHARDS`]. The result depends on the shard count, never on the machine.
    #[serde(default)]
    pub shards: Option<usize>,
}

impl LdaConfig {
    /// `topics` topics with the defaults: alpha = 1/topics, beta = [`DEFAULT_BETA`],
    /// [`DEFAULT_ITERATIONS`] sweeps, seed 0.
    pub fn new(topics: usize) -> Self {
        Self {
            topics,
            iterations: DEFAULT_ITERATIONS,
            alpha: 1.0 / topics.max(1) as f64,
            beta: DEFAULT_BETA,
            seed: 0,
            shards: None,
        }
    }
    /// The same with another seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

impl Default for LdaConfig {
    fn default() -> Self {
        Self::new(DEFAULT_TOPICS)
    }
}

/// A fitted model with the training documents' topic mixes and the trace of the fit.
#[derive(Clone, Debug)]
pub struct LdaFit {
    pub model: Model,
    /// `docs x topics`, rows summing to 1.
    theta: Vec<f32>,
    /// The word log-likelihood `log p(w | z)` after each sweep (rises, then plateaus).
    pub log_likelihood: Vec<f64>,
    /// Tokens in the corpus.
    pub tokens: usize,
}

impl LdaFit {
    /// Training documents.
    pub fn docs(&self) -> usize {
        self.theta.len() / self.model.topics
    }
    /// Training document `d`'s topic mix (`theta_d`, summing to 1; uniform for an empty
    /// document), or `None` past the last document.
    pub fn doc_topics(&self, d: usize) -> Option<&[f32]> {
        self.theta.chunks_exact(self.model.topics).nth(d)
    }
    /// All mixes, `docs x topics`, row after row.
    pub fn theta(&self) -> &[f32] {
        &self.theta
    }
}

/// The topics of a fit: `phi`, one distribution over the vocabulary per topic, and the priors
/// that fold-in needs.
///
/// (De)serialises through serde as `{topics, vocab, alpha, beta, phi}` (checked on reading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelRepr", into = "ModelRepr")]
pub struct Model {
    topics: usize,
    vocab: usize,
    alpha: f64,
    beta: f64,
    /// `topics x vocab`.
    phi: Vec<f32>,
    /// The same, `vocab x topics` (a word's topics adjacent: the fold-in draw reads one row).
    phi_wt: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct ModelRepr {
    topics: usize,
    vocab: usize,
    alpha: f64,
    beta: f64,
    phi: Vec<f32>,
}

impl From<Model> for ModelRepr {
    fn from(m: Model) -> Self {
        Self {
            topics: m.topics,
            vocab: m.vocab,
            alpha: m.alpha,
            beta: m.beta,
            phi: m.phi,
        }
    }
}

impl TryFrom<ModelRepr> for Model {
    type Error = ThemeError;
    fn try_from(r: ModelRepr) -> Result<Self, ThemeError> {
        check_sizes(r.topics, r.vocab, r.alpha, r.beta)?;
        if r.phi.len() != r.topics * r.vocab {
            return Err(ThemeError::Format(format!(
                "{} phi values for {} x {}",
                r.phi.len(),
                r.topics,
                r.vocab
            )));
        }
        for (t, row) in r.phi.chunks_exact(r.vocab).enumerate() {
            let sum: f64 = row.iter().map(|&p| p as f64).sum();
            if row.iter().any(|p| !p.is_finite() || *p < 0.0) || (sum - 1.0).abs() > 1e-3 {
                return Err(ThemeError::Format(format!(
                    "topic {t} is not a distribution (sums to {sum})"
                )));
            }
        }
        Ok(Model::from_parts(r.topics, r.vocab, r.alpha, r.beta, r.phi))
    }
}

fn check_sizes(topics: usize, vocab: usize, alpha: f64, beta: f64) -> Result<(), ThemeError> {
    if topics == 0 || topics > MAX_TOPICS {
        return Err(ThemeError::Parameter(format!(
            "topics = {topics}, must be 1..={MAX_TOPICS}"
        )));
    }
    if vocab == 0 || vocab > MAX_VOCAB {
        return Err(ThemeError::Parameter(format!(
            "vocabulary of {vocab}, must be 1..={MAX_VOCAB}"
        )));
    }
    for (name, v) in [("alpha", alpha), ("beta", beta)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(ThemeError::Parameter(format!(
                "{name} = {v}, must be positive"
            )));
        }
    }
    Ok(())
}

impl Model {
    fn from_parts(topics: usize, vocab: usize, alpha: f64, beta: f64, phi: Vec<f32>) -> Self {
        let mut phi_wt = vec![0f32; topics * vocab];
        for (t, row) in phi.chunks_exact(vocab).enumerate() {
            for (w, &p) in row.iter().enumerate() {
                phi_wt[w * topics + t] = p;
            }
        }
        Self {
            topics,
            vocab,
            alpha,
            beta,
            phi,
            phi_wt,
        }
    }

    /// A model from given topic-word weights (`topics x vocab`, non-negative, each row with a
    /// positive sum; rows are normalised) and priors: e.g. a stored model, or known topics.
    pub fn from_topic_word(
        topics: usize,
        vocab: usize,
        mut phi: Vec<f32>,
        alpha: f64,
        beta: f64,
    ) -> Result<Self, ThemeError> {
        check_sizes(topics, vocab, alpha, beta)?;
        if phi.len() != topics * vocab {
            return Err(ThemeError::Parameter(format!(
                "{} weights for {topics} x {vocab}",
                phi.len()
            )));
        }
        for (t, row) in phi.chunks_exact_mut(vocab).enumerate() {
            let sum: f64 = row.iter().map(|&p| p as f64).sum();
            if row.iter().any(|p| !p.is_finite() || *p < 0.0) || !(sum > 0.0 && sum.is_finite()) {
                return Err(ThemeError::Parameter(format!(
                    "topic {t}: weights must be finite, non-negative and not all zero"
                )));
            }
            row.iter_mut().for_each(|p| *p = (*p as f64 / sum) as f32);
        }
        Ok(Self::from_parts(topics, vocab, alpha, beta, phi))
    }

    pub fn topics(&self) -> usize {
        self.topics
    }
    pub fn vocab(&self) -> usize {
        self.vocab
    }
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Topic `t`'s distribution over the words (`phi_t`, sums to 1).
    ///
    /// # Panics
    /// If `t >= self.topics()`, like slice indexing.
    pub fn topic_word(&self, t: usize) -> &[f32] {
        &self.phi[t * self.vocab..(t + 1) * self.vocab]
    }

    /// FNV-1a 64 over the sizes, the priors and `phi`'s bits: stored scene mixes made with
    /// another fingerprint are stale.
    pub fn fingerprint(&self) -> u64 {
        let head = [
            (self.topics as u64).to_le_bytes(),
            (self.vocab as u64).to_le_bytes(),
            self.alpha.to_bits().to_le_bytes(),
            self.beta.to_bits().to_le_bytes(),
        ]
        .concat();
        let body: Vec<u8> = self.phi.iter().flat_map(|v| v.to_le_bytes()).collect();
        fnv64([head.as_slice(), body.as_slice()])
    }

    /// A new document's topic mix with the topics held fixed: `iterations` Gibbs sweeps (at
    /// least 1), the first half discarded, `theta` averaged over the rest (see the module
    /// doc). An empty document gets the prior mean, uniform.
    pub fn fold_in(
        &self,
        doc: &[u16],
        iterations: usize,
        seed: u64,
    ) -> Result<Vec<f32>, ThemeError> {
        let mut rng = seeded(seed);
        let mut scratch = FoldScratch::default();
        self.fold_in_with(doc, iterations, &mut rng, &mut scratch, 0)
    }

    fn fold_in_with(
        &self,
        doc: &[u16],
        iterations: usize,
        rng: &mut Rng,
        s: &mut FoldScratch,
        doc_index: usize,
    ) -> Result<Vec<f32>, ThemeError> {
        if iterations == 0 {
            return Err(ThemeError::Parameter(
                "fold-in needs at least 1 iteration".into(),
            ));
        }
        check_words(doc, self.vocab, doc_index)?;
        let t_n = self.topics;
        if doc.is_empty() {
            return Ok(vec![1.0 / t_n as f32; t_n]);
        }
        let alpha = self.alpha as f32;
        s.z.clear();
        s.ndt.clear();
        s.ndt.resize(t_n, 0);
        s.cum.clear();
        s.cum.resize(t_n, 0.0);
        s.acc.clear();
        s.acc.resize(t_n, 0);
        // Start from p(z = t) ∝ phi_tw: close to the answer, so little burn-in is needed.
        for &w in doc {
            let row = &self.phi_wt[w as usize * t_n..(w as usize + 1) * t_n];
            let t = draw(row, &mut s.cum, rng);
            s.z.push(t as u16);
            s.ndt[t] += 1;
        }
        let burn = iterations / 2;
        for it in 0..iterations {
            for (z, &w) in s.z.iter_mut().zip(doc) {
                let old = *z as usize;
                s.ndt[old] -= 1;
                let row = &self.phi_wt[w as usize * t_n..(w as usize + 1) * t_n];
                for ((c, &n), &p) in s.cum.iter_mut().zip(&s.ndt).zip(row) {
                    *c = (n as f32 + alpha) * p;
                }
                let t = draw_weights(&mut s.cum, rng);
                *z = t as u16;
                s.ndt[t] += 1;
            }
            if it >= burn {
                for (a, &n) in s.acc.iter_mut().zip(&s.ndt) {
                    *a += n as u64;
                }
            }
        }
        let kept = (iterations - burn) as f64;
        let denom = doc.len() as f64 + t_n as f64 * self.alpha;
        Ok(s.acc
            .iter()
            .map(|&a| ((a as f64 / kept + self.alpha) / denom) as f32)
            .collect())
    }

    /// Held-out perplexity of `docs` by document completion (see the module doc): even
    /// positions folded in ([`DEFAULT_FOLD_IN_ITERATIONS`] sweeps), odd positions scored.
    /// Documents of fewer than 2 tokens have nothing to score and are passed over; an error
    /// if no token is scored or a word is out of the vocabulary.
    pub fn perplexity<D: AsRef<[u16]>>(&self, docs: &[D], seed: u64) -> Result<f64, ThemeError> {
        let mut rng = seeded(seed);
        let mut scratch = FoldScratch::default();
        let mut log_p = 0.0f64;
        let mut scored = 0usize;
        for (d, doc) in docs.iter().enumerate() {
            let doc = doc.as_ref();
            check_words(doc, self.vocab, d)?;
            let (seen, held) = heldout_split(doc);
            if held.is_empty() {
                continue;
            }
            let theta =
                self.fold_in_with(&seen, DEFAULT_FOLD_IN_ITERATIONS, &mut rng, &mut scratch, d)?;
            for &w in &held {
                let row = &self.phi_wt[w as usize * self.topics..(w as usize + 1) * self.topics];
                let p: f64 = row
                    .iter()
                    .zip(&theta)
                    .map(|(&p, &q)| p as f64 * q as f64)
                    .sum();
                log_p += p.ln();
                scored += 1;
            }
        }
        if scored == 0 {
            return Err(ThemeError::NoTokens(
                " to score (a held-out document needs 2 tokens or more)",
            ));
        }
        Ok((-log_p / scored as f64).exp())
    }
}

/// Buffers reused across fold-ins.
#[derive(Default)]
struct FoldScratch {
    z: Vec<u16>,
    ndt: Vec<u32>,
    cum: Vec<f32>,
    acc: Vec<u64>,
}

/// Draws an index in proportion to `weights` (all positive), using `cum` as scratch.
#[inline]
fn draw(weights: &[f32], cum: &mut [f32], rng: &mut Rng) -> usize {
    cum.copy_from_slice(weights);
    draw_weights(cum, rng)
}

/// Draws an index in proportion to the weights in `cum`, which it turns into their running
/// sums. Rounding past the end falls to the last index.
#[inline]
fn draw_weights(cum: &mut [f32], rng: &mut Rng) -> usize {
    let mut acc = 0f32;
    for c in cum.iter_mut() {
        acc += *c;
        *c = acc;
    }
    let u = rng.gen::<f32>() * acc;
    // The running sums never fall, so the number of them at or below `u` is the index of the
    // first one above it, the drawn index; counting has no unpredictable branch.
    cum.iter()
        .filter(|&&c| c <= u)
        .count()
        .min(cum.len().saturating_sub(1))
}

fn check_words(doc: &[u16], vocab: usize, d: usize) -> Result<(), ThemeError> {
    match doc.iter().find(|&&w| w as usize >= vocab) {
        Some(&word) => Err(ThemeError::WordOutOfRange {
            doc: d,
            word,
            vocab,
        }),
        None => Ok(()),
    }
}

/// A document's tokens split for document completion: even positions (folded in) and odd
/// positions (scored).
pub fn heldout_split(doc: &[u16]) -> (Vec<u16>, Vec<u16>) {
    let seen = doc.iter().step_by(2).copied().collect();
    let held = doc.iter().skip(1).step_by(2).copied().collect();
    (seen, held)
}

/// The documents flattened: all tokens, and where each document starts (`docs + 1` offsets).
struct Corpus {
    tokens: Vec<u16>,
    offsets: Vec<usize>,
}

fn flatten<D: AsRef<[u16]>>(docs: &[D], vocab: usize) -> Result<Corpus, ThemeError> {
    let mut tokens = Vec::with_capacity(docs.iter().map(|d| d.as_ref().len()).sum());
    let mut offsets = Vec::with_capacity(docs.len() + 1);
    offsets.push(0);
    for (d, doc) in docs.iter().enumerate() {
        let doc = doc.as_ref();
        check_words(doc, vocab, d)?;
        tokens.extend_from_slice(doc);
        offsets.push(tokens.len());
    }
    Ok(Corpus { tokens, offsets })
}

/// The priors as the sampler uses them.
#[derive(Clone, Copy)]
struct Priors {
    alpha: f32,
    beta: f32,
    /// `V beta`.
    vbeta: f32,
}

/// Topic-word counts of one sampler (the global ones, or a shard's working copy), with the
/// reciprocals `1 / (n_t + V beta)` and the draw buffer.
#[derive(Clone)]
struct WordCounts {
    /// `V x T` (word-major).
    n_wt: Vec<u32>,
    n_t: Vec<u32>,
    inv: Vec<f32>,
    cum: Vec<f32>,
}

impl WordCounts {
    fn refresh(&mut self, vbeta: f32) {
        for (i, &n) in self.inv.iter_mut().zip(&self.n_t) {
            *i = 1.0 / (n as f32 + vbeta);
        }
    }
}

/// One Gibbs sweep over a contiguous run of documents: `offsets` are their global token
/// offsets (`docs + 1`), `tokens` and `z` their tokens and topics, `n_dt` their rows.
#[allow(clippy::too_many_arguments)]
fn sweep_docs(
    tokens: &[u16],
    offsets: &[usize],
    z: &mut [u16],
    n_dt: &mut [u32],
    w: &mut WordCounts,
    t_n: usize,
    pr: Priors,
    rng: &mut Rng,
) {
    let base = offsets[0];
    for (d, ndt) in n_dt.chunks_exact_mut(t_n).enumerate() {
        let range = offsets[d] - base..offsets[d + 1] - base;
        for (z, &word) in z[range.clone()].iter_mut().zip(&tokens[range]) {
            let old = *z as usize;
            let nwt = &mut w.n_wt[word as usize * t_n..(word as usize + 1) * t_n];
            ndt[old] -= 1;
            nwt[old] -= 1;
            w.n_t[old] -= 1;
            w.inv[old] = 1.0 / (w.n_t[old] as f32 + pr.vbeta);
            for (((c, &a), &b), &i) in w.cum.iter_mut().zip(ndt.iter()).zip(nwt.iter()).zip(&w.inv)
            {
                *c = (a as f32 + pr.alpha) * (b as f32 + pr.beta) * i;
            }
            let t = draw_weights(&mut w.cum, rng);
            *z = t as u16;
            ndt[t] += 1;
            nwt[t] += 1;
            w.n_t[t] += 1;
            w.inv[t] = 1.0 / (w.n_t[t] as f32 + pr.vbeta);
        }
    }
}

/// A shard of AD-LDA: a contiguous run of documents, its copy of the word counts, its
/// generator (its own ChaCha8 stream).
struct Shard {
    docs: std::ops::Range<usize>,
    counts: WordCounts,
    rng: Rng,
}

/// The collapsed Gibbs state.
struct State {
    t_n: usize,
    pr: Priors,
    z: Vec<u16>,
    /// `docs x T`.
    n_dt: Vec<u32>,
    global: WordCounts,
    /// Empty for the exact sequential sampler.
    shards: Vec<Shard>,
}

impl State {
    fn new(c: &Corpus, vocab: usize, cfg: &LdaConfig, shards: usize, rng: &mut Rng) -> Self {
        let t_n = cfg.topics;
        let docs = c.offsets.len() - 1;
        let vbeta = (vocab as f64 * cfg.beta) as f32;
        let mut s = Self {
            t_n,
            pr: Priors {
                alpha: cfg.alpha as f32,
                beta: cfg.beta as f32,
                vbeta,
            },
            z: Vec::with_capacity(c.tokens.len()),
            n_dt: vec![0; docs * t_n],
            global: WordCounts {
                n_wt: vec![0; vocab * t_n],
                n_t: vec![0; t_n],
                inv: vec![0.0; t_n],
                cum: vec![0.0; t_n],
            },
            shards: Vec::new(),
        };
        for d in 0..docs {
            for &w in &c.tokens[c.offsets[d]..c.offsets[d + 1]] {
                let t = rng.gen_range(0..t_n);
                s.z.push(t as u16);
                s.n_dt[d * t_n + t] += 1;
                s.global.n_wt[w as usize * t_n + t] += 1;
                s.global.n_t[t] += 1;
            }
        }
        s.global.refresh(vbeta);
        if shards > 1 {
            // Contiguous runs of documents with about equal token counts.
            let total = c.tokens.len();
            let mut start = 0;
            for p in 0..shards {
                let goal = total * (p + 1) / shards;
                let end = if p + 1 == shards {
                    docs
                } else {
                    start + c.offsets[start..=docs].partition_point(|&o| o < goal)
                };
                let end = end.clamp(start, docs);
                if end > start {
                    let mut rng = seeded(cfg.seed);
                    rng.set_stream(p as u64 + 1);
                    s.shards.push(Shard {
                        docs: start..end,
                        counts: s.global.clone(),
                        rng,
                    });
                }
                start = end;
            }
            if s.shards.len() < 2 {
                s.shards.clear();
            }
        }
        s
    }

    /// One Gibbs sweep over every token. Sequential: in corpus order. Sharded (AD-LDA,
    /// Newman, Asuncion, Smyth & Welling 2009): each shard samples its documents against its
    /// own copy of the word counts taken at the start of the sweep, on its own thread, then
    /// the global counts gain every shard's changes (exact integer sums, so the merge order
    /// does not matter and the result does not depend on the threads).
    fn sweep(&mut self, c: &Corpus, rng: &mut Rng) {
        let (t_n, pr) = (self.t_n, self.pr);
        if self.shards.is_empty() {
            sweep_docs(
                &c.tokens,
                &c.offsets,
                &mut self.z,
                &mut self.n_dt,
                &mut self.global,
                t_n,
                pr,
                rng,
            );
            return;
        }
        for sh in &mut self.shards {
            sh.counts.n_wt.copy_from_slice(&self.global.n_wt);
            sh.counts.n_t.copy_from_slice(&self.global.n_t);
            sh.counts.inv.copy_from_slice(&self.global.inv);
        }
        // Each shard's slices of z and n_dt.
        let mut work = Vec::with_capacity(self.shards.len());
        let (mut z, mut n_dt) = (&mut self.z[..], &mut self.n_dt[..]);
        let mut at = 0;
        for sh in &mut self.shards {
            let skip_t = c.offsets[sh.docs.start] - at;
            let len_t = c.offsets[sh.docs.end] - c.offsets[sh.docs.start];
            let (_, rest) = std::mem::take(&mut z).split_at_mut(skip_t);
            let (mine, rest) = rest.split_at_mut(len_t);
            z = rest;
            at = c.offsets[sh.docs.end];
            let (mine_dt, rest_dt) = std::mem::take(&mut n_dt).split_at_mut(sh.docs.len() * t_n);
            n_dt = rest_dt;
            work.push((sh, mine, mine_dt));
        }
        let run = |(sh, z, n_dt): (&mut Shard, &mut [u16], &mut [u32])| {
            let range = c.offsets[sh.docs.start]..c.offsets[sh.docs.end];
            sweep_docs(
                &c.tokens[range],
                &c.offsets[sh.docs.start..=sh.docs.end],
                z,
                n_dt,
                &mut sh.counts,
                t_n,
                pr,
                &mut sh.rng,
            );
        };
        let mut work = work.into_iter();
        let first = work.next();
        std::thread::scope(|s| {
            for w in work {
                s.spawn(move || run(w));
            }
            if let Some(w) = first {
                run(w);
            }
        });
        // global += sum over shards of (shard - global), in wrapping u32 arithmetic: every
        // partial sum may leave the range, the final counts do not.
        let g = &mut self.global;
        for (i, n) in g.n_wt.iter_mut().enumerate() {
            let old = *n;
            *n = self.shards.iter().fold(old, |acc, sh| {
                acc.wrapping_add(sh.counts.n_wt[i].wrapping_sub(old))
            });
        }
        for (t, n) in g.n_t.iter_mut().enumerate() {
            let old = *n;
            *n = self.shards.iter().fold(old, |acc, sh| {
                acc.wrapping_add(sh.counts.n_t[t].wrapping_sub(old))
            });
        }
        g.refresh(pr.vbeta);
    }

    /// `log p(w | z) = T [lnΓ(Vβ) - V lnΓ(β)] + sum_t [sum_w lnΓ(n_wt + β) - lnΓ(n_t + Vβ)]`.
    fn word_log_likelihood(&self, vocab: usize, beta: f64) -> f64 {
        let t_n = self.t_n as f64;
        let vb = vocab as f64 * beta;
        let mut ll = t_n * (ln_gamma(vb) - vocab as f64 * ln_gamma(beta));
        ll += self
            .global
            .n_wt
            .iter()
            .map(|&n| ln_gamma(n as f64 + beta))
            .sum::<f64>();
        ll -= self
            .global
            .n_t
            .iter()
            .map(|&n| ln_gamma(n as f64 + vb))
            .sum::<f64>();
        ll
    }
}

/// `ln Γ(x)` for `x > 0`: Lanczos (g = 7, 9 terms), about 15 significant digits; small
/// arguments are shifted up by `Γ(x) = Γ(x + 1) / x`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return ln_gamma(x + 1.0) - x.ln();
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (std::f64::consts::TAU).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Fits LDA to `docs` (each a list of word ids below `vocab`) by collapsed Gibbs sampling.
/// Empty documents are allowed (their mix is uniform); more topics than documents is allowed.
/// Errors: sizes or priors out of range, a word id not below `vocab`, or no token at all.
///
/// With more than one shard ([`LdaConfig::shards`]) the documents are cut into that many
/// contiguous runs of about equal token counts, sampled in parallel each sweep against the
/// word counts of the sweep's start, the changes summed afterwards: approximate distributed
/// LDA (AD-LDA, Newman et al. 2009), whose topics and perplexity match the sequential
/// sampler's on large corpora; its staleness is one sweep of the other shards' moves.
pub fn fit<D: AsRef<[u16]>>(
    docs: &[D],
    vocab: usize,
    cfg: &LdaConfig,
) -> Result<LdaFit, ThemeError> {
    check_sizes(cfg.topics, vocab, cfg.alpha, cfg.beta)?;
    if cfg.iterations == 0 {
        return Err(ThemeError::Parameter(
            "iterations must be at least 1".into(),
        ));
    }
    if let Some(p) = cfg.shards {
        if p == 0 || p > MAX_SHARDS {
            return Err(ThemeError::Parameter(format!(
                "shards = {p}, must be 1..={MAX_SHARDS}"
            )));
        }
    }
    let corpus = flatten(docs, vocab)?;
    if corpus.tokens.is_empty() {
        return Err(ThemeError::NoTokens(""));
    }
    let t_n = cfg.topics;
    let mut rng = seeded(cfg.seed);
    let shards = cfg
        .shards
        .unwrap_or(if corpus.tokens.len() >= AUTO_SHARD_TOKENS {
            DEFAULT_SHARDS
        } else {
            1
        });
    let mut state = State::new(&corpus, vocab, cfg, shards, &mut rng);

    let averaged = AVERAGED_SWEEPS.min(cfg.iterations / 2).max(1);
    let mut acc_dt = vec![0u32; state.n_dt.len()];
    let mut acc_wt = vec![0u64; state.global.n_wt.len()];
    let mut log_likelihood = Vec::with_capacity(cfg.iterations);
    for it in 0..cfg.iterations {
        state.sweep(&corpus, &mut rng);
        log_likelihood.push(state.word_log_likelihood(vocab, cfg.beta));
        if it >= cfg.iterations - averaged {
            for (a, &n) in acc_dt.iter_mut().zip(&state.n_dt) {
                *a += n;
            }
            for (a, &n) in acc_wt.iter_mut().zip(&state.global.n_wt) {
                *a += n as u64;
            }
        }
    }

    let s = averaged as f64;
    let mut phi = vec![0f32; t_n * vocab];
    let mut acc_t = vec![0u64; t_n];
    for (w, row) in acc_wt.chunks_exact(t_n).enumerate() {
        for (t, &a) in row.iter().enumerate() {
            acc_t[t] += a;
            phi[t * vocab + w] = a as f32; // normalised below
        }
    }
    for (t, row) in phi.chunks_exact_mut(vocab).enumerate() {
        let denom = acc_t[t] as f64 / s + vocab as f64 * cfg.beta;
        for p in row.iter_mut() {
            *p = ((*p as f64 / s + cfg.beta) / denom) as f32;
        }
    }
    let mut theta = vec![0f32; acc_dt.len()];
    for (d, (out, acc)) in theta
        .chunks_exact_mut(t_n)
        .zip(acc_dt.chunks_exact(t_n))
        .enumerate()
    {
        let len = (corpus.offsets[d + 1] - corpus.offsets[d]) as f64;
        let denom = len + t_n as f64 * cfg.alpha;
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = ((a as f64 / s + cfg.alpha) / denom) as f32;
        }
    }
    Ok(LdaFit {
        model: Model::from_parts(t_n, vocab, cfg.alpha, cfg.beta, phi),
        theta,
        log_likelihood,
        tokens: corpus.tokens.len(),
    })
}

/// The Hellinger distance `sqrt(1 - sum_i sqrt(p_i q_i))` between two distributions, in
/// [0, 1]. Each side is divided by its sum first (so counts work too); entries past the
/// shorter side count as zero mass; a side with no positive mass is at distance 1.
pub fn hellinger(p: &[f32], q: &[f32]) -> f64 {
    let sp: f64 = p.iter().map(|&v| v.max(0.0) as f64).sum();
    let sq: f64 = q.iter().map(|&v| v.max(0.0) as f64).sum();
    if !(sp > 0.0 && sq > 0.0 && sp.is_finite() && sq.is_finite()) {
        return 1.0;
    }
    let bc: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| (a.max(0.0) as f64 * b.max(0.0) as f64).sqrt())
        .sum::<f64>()
        / (sp * sq).sqrt();
    (1.0 - bc).max(0.0).sqrt()
}

/// Which old topic a new topic continues, and how far their word distributions are apart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicMatch {
    pub old: usize,
    /// Hellinger distance between the two topics' word distributions (0 = the same).
    pub distance: f64,
}

/// Pairs the topics of a refit (`new`) with those of the model it replaces (`old`) so that
/// the total Hellinger distance of the pairs is smallest (Hungarian method, `O(T^3)`).
/// Indexed by new topic: `Some` names the old topic whose identity (and name) it takes;
/// `None` only when `new` has more topics than `old`. With equal counts the result is a
/// permutation. Callers may treat a match with a large distance as a new scene.
pub fn match_topics(old: &Model, new: &Model) -> Result<Vec<Option<TopicMatch>>, ThemeError> {
    if old.vocab != new.vocab {
        return Err(ThemeError::VocabMismatch {
            old: old.vocab,
            new: new.vocab,
        });
    }
    let (to, tn) = (old.topics, new.topics);
    let dist = |o: usize, n: usize| hellinger(old.topic_word(o), new.topic_word(n));
    let mut out = vec![None; tn];
    if to <= tn {
        let cost: Vec<f64> = (0..to)
            .flat_map(|o| (0..tn).map(move |n| (o, n)))
            .map(|(o, n)| dist(o, n))
            .collect();
        for (o, n) in hungarian(&cost, to, tn).into_iter().enumerate() {
            out[n] = Some(TopicMatch {
                old: o,
                distance: cost[o * tn + n],
            });
        }
    } else {
        let cost: Vec<f64> = (0..tn)
            .flat_map(|n| (0..to).map(move |o| (n, o)))
            .map(|(n, o)| dist(o, n))
            .collect();
        for (n, o) in hungarian(&cost, tn, to).into_iter().enumerate() {
            out[n] = Some(TopicMatch {
                old: o,
                distance: cost[n * to + o],
            });
        }
    }
    Ok(out)
}

/// Minimum-cost assignment of `rows` to distinct columns (`rows <= cols`; `cost` finite,
/// row-major): the Hungarian method with potentials (Kuhn-Munkres, Jonker-Volgenant style
/// shortest augmenting paths), `O(rows^2 cols)`. Returns each row's column.
fn hungarian(cost: &[f64], rows: usize, cols: usize) -> Vec<usize> {
    debug_assert!(rows <= cols && cost.len() == rows * cols);
    // 1-based as in the textbook formulation; index 0 is the virtual start column.
    let mut u = vec![0.0f64; rows + 1];
    let mut v = vec![0.0f64; cols + 1];
    let mut p = vec![0usize; cols + 1]; // p[j]: the row matched to column j (0 = none)
    let mut way = vec![0usize; cols + 1];
    for i in 1..=rows {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; cols + 1];
        let mut used = vec![false; cols + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=cols {
                if !used[j] {
                    let cur = cost[(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                break; // only with non-finite costs; callers pass finite ones
            }
            for j in 0..=cols {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; rows];
    for j in 1..=cols {
        if p[j] != 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    out
}

/// The baseline for perplexity: one word distribution for all documents, from the training
/// counts with add-one (Laplace) smoothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Unigram {
    p: Vec<f64>,
}

impl Unigram {
    pub fn fit<D: AsRef<[u16]>>(docs: &[D], vocab: usize) -> Result<Self, ThemeError> {
        if vocab == 0 || vocab > MAX_VOCAB {
            return Err(ThemeError::Parameter(format!(
                "vocabulary of {vocab}, must be 1..={MAX_VOCAB}"
            )));
        }
        let mut counts = vec![1.0f64; vocab];
        for (d, doc) in docs.iter().enumerate() {
            let doc = doc.as_ref();
            check_words(doc, vocab, d)?;
            for &w in doc {
                counts[w as usize] += 1.0;
            }
        }
        let total: f64 = counts.iter().sum();
        counts.iter_mut().for_each(|c| *c /= total);
        Ok(Self { p: counts })
    }

    /// Each word's probability.
    pub fn probabilities(&self) -> &[f64] {
        &self.p
    }

    /// Perplexity on the tokens [`Model::perplexity`] scores (odd positions), so the two
    /// figures compare directly.
    pub fn perplexity<D: AsRef<[u16]>>(&self, docs: &[D]) -> Result<f64, ThemeError> {
        let mut log_p = 0.0;
        let mut scored = 0usize;
        for (d, doc) in docs.iter().enumerate() {
            let doc = doc.as_ref();
            check_words(doc, self.p.len(), d)?;
            for &w in heldout_split(doc).1.iter() {
                log_p += self.p[w as usize].ln();
                scored += 1;
            }
        }
        if scored == 0 {
            return Err(ThemeError::NoTokens(
                " to score (a held-out document needs 2 tokens or more)",
            ));
        }
        Ok((-log_p / scored as f64).exp())
    }
}

#[cfg(test)]
mod tests;
