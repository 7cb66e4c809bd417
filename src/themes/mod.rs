//! Theme scenes (seed 000): songs as documents of "audio words", scenes as LDA topics.
//!
//! The pipeline, and which part of it lives here:
//!
//! 1. **Segment embedding.** Every analysed ~3-s segment has a musicnn embedding
//!    ([`EMBEDDING_DIM`] = 200 values, `model::musicnn`).
//! 2. **Audio word.** A [`Codebook`] of `K` unit centroids, fitted by spherical k-means
//!    ([`kmeans::fit`]) on L2-normalised embeddings, maps a segment to the word whose centroid
//!    is nearest in cosine ([`Codebook::assign`]). The codebook ships as a small versioned
//!    binary file ([`CODEBOOK_FORMAT`], [`Codebook::to_bytes`]); its content fingerprint
//!    ([`Codebook::fingerprint`]) marks stored words stale when the codebook changes.
//! 3. **Document.** A track is the bag of its segments' words (`Vec<u16>`, in time order; LDA
//!    ignores the order).
//! 4. **Scenes.** LDA by collapsed Gibbs sampling ([`lda::fit`]) over the library's documents
//!    gives `T` topics (`phi`, a distribution over words each: [`Model::topic_word`]) and each
//!    track's scene mix (`theta`: [`LdaFit::doc_topics`]).
//! 5. **New tracks** are folded in without a refit ([`Model::fold_in`]: Gibbs sampling of the
//!    track's word topics with `phi` held fixed).
//! 6. **Refit and identity.** A refit is a new, independently sampled model whose topics come
//!    in arbitrary order; [`match_topics`] pairs each new topic with an old one (a minimum-total
//!    Hellinger assignment, Hungarian method), so a scene keeps its name.
//!
//! Choosing `T` by held-out perplexity uses [`Model::perplexity`] (document completion) and
//! compares it with a [`Unigram`] model on the same held-out tokens.
//!
//! Around the pipeline: [`naming`] names a scene after its most over-represented musicnn
//! tags and its mood ("piano · ambient: calm"), with its mood mix and typical tracks;
//! [`eval`] measures scenes on labelled clips held out by artist (`valence scenes
//! evaluate`; the 4q-train figures are in `docs/scenes-4q.md`). The shipped codebook is
//! [`default_codebook`] (`assets/themes/`, fitted by `valence scenes codebook`).
//!
//! # The numbers
//!
//! - **K = [`DEFAULT_WORDS`] = 128 audio words.** A track is short as documents go: at the
//!   analyser's default stride (one 3-s patch in 3) a 4-minute track has about 27 words, a
//!   30-s clip 10 at stride 1. LDA learns from words that co-occur in a document; with K much
//!   larger than a document, the counts per word get thin: a library of 50 tracks holds about
//!   1,350 words, about 10 per word at K = 128 but 5 at K = 256. K = 64 would merge timbres the
//!   50 musicnn tags tell apart (128 leaves about 2.5 words per tag). The codebook is
//!   128 x 200 f32 = 100 KiB. Fitting: greedy k-means++ starts, [`kmeans::DEFAULT_RESTARTS`]
//!   runs (the lowest inertia kept), at most [`kmeans::DEFAULT_MAX_ITER`] Lloyd updates each.
//! - **T = [`DEFAULT_TOPICS`] = 16 scenes** when the user sets none: enough to split a library
//!   by instrumentation and genre, few enough to show as cards and chips. On 4q-train (720
//!   clips held out by artist, `docs/scenes-4q.md`) held-out perplexity keeps falling up to
//!   T = 96 and its knee ([`eval::choose_topics`]) is at 16.
//! - **alpha = 1/T** ([`LdaConfig::new`]): one pseudo-token of prior mass per track, whatever
//!   `T`, so a 27-word track's mix follows its words and a track sits in one to three scenes
//!   rather than spreading over all (interpretable cards, sharp chips); perplexities for
//!   different `T` see the same prior strength.
//! - **beta = [`DEFAULT_BETA`] = 0.1**: `V * beta` = 12.8 pseudo-tokens per topic, which steadies
//!   the topics of a library of a few dozen tracks (~100 tokens per topic) and vanishes against
//!   a large one.
//! - **[`DEFAULT_ITERATIONS`] Gibbs sweeps**, the estimates averaged over the last
//!   [`AVERAGED_SWEEPS`]; fold-in uses [`DEFAULT_FOLD_IN_ITERATIONS`] sweeps, the first half
//!   discarded. See `lda` for the measurements behind them. Corpora of
//!   [`lda::AUTO_SHARD_TOKENS`] tokens or more are sampled on [`DEFAULT_SHARDS`] threads
//!   (AD-LDA), which keeps a 100,000-track fit well under a minute on 2 cores.
//!
//! Everything is deterministic for a fixed seed (ChaCha8, `train::seeded`).

pub mod eval;
pub mod kmeans;
pub mod lda;
pub mod naming;
pub mod store;
pub mod synthetic;

pub use crate::model::musicnn::EMBEDDING_DIM;
pub use kmeans::{Codebook, KMeansConfig, KMeansFit, CODEBOOK_FORMAT, DEFAULT_WORDS};
pub use lda::{
    fit as fit_lda, heldout_split, hellinger, match_topics, LdaConfig, LdaFit, Model, TopicMatch,
    Unigram, AVERAGED_SWEEPS, DEFAULT_BETA, DEFAULT_FOLD_IN_ITERATIONS, DEFAULT_ITERATIONS,
    DEFAULT_SHARDS, DEFAULT_TOPICS, MAX_TOPICS,
};

/// Why audio words or scenes could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// A flat row buffer whose length is not a multiple of the row width (or a width of 0).
    #[error("{len} values do not make rows of {dim}")]
    Shape { len: usize, dim: usize },
    /// A row that does not have the codebook's width.
    #[error("a row of {got} values, the codebook's are {want}")]
    Dim { got: usize, want: usize },
    /// A NaN or infinite value in an input row (a broken embedding: refused, not skipped).
    #[error("row {row} holds a NaN or infinite value")]
    NonFinite { row: usize },
    /// Fewer usable (non-zero) rows than clusters asked for.
    #[error("{rows} usable row(s) cannot make {k} clusters")]
    TooFewRows { rows: usize, k: usize },
    /// The rows point in fewer distinct directions than clusters asked for.
    #[error("the rows point in only {distinct} distinct direction(s), {k} clusters asked for")]
    TooFewDistinct { distinct: usize, k: usize },
    /// A parameter out of its range (named in the message).
    #[error("invalid parameter: {0}")]
    Parameter(String),
    /// A word id not below the vocabulary size.
    #[error("document {doc} holds word {word}, the vocabulary has {vocab}")]
    WordOutOfRange { doc: usize, word: u16, vocab: usize },
    /// A corpus (or held-out set) with no token to learn from or score.
    #[error("the documents hold no tokens{0}")]
    NoTokens(&'static str),
    /// Two models over different vocabularies (e.g. different codebooks) cannot be matched.
    #[error("vocabularies differ: {old} and {new} words")]
    VocabMismatch { old: usize, new: usize },
    /// A codebook or model file that cannot be read back (named what is wrong).
    #[error("bad codebook data: {0}")]
    Format(String),
    #[error("codebook file {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The shipped codebook is not where assets are looked for.
    #[error(transparent)]
    Asset(#[from] crate::model::assets::AssetError),
    /// musicnn's tag names (which scenes are named after) cannot be read.
    #[error("musicnn's tag names: {0}")]
    Tags(#[from] crate::model::musicnn::MusicnnError),
}

/// The shipped codebook's path under the asset folders (`model::assets`).
pub const CODEBOOK_ASSET: &str = "themes/codebook.vlcb";

/// The shipped codebook (`assets/themes/codebook.vlcb`, see its README), found the way the
/// emotion model is (`model::assets::find_asset`: `$VALENCE_ASSETS`, next to the installed
/// binary, then the repository's `assets/`).
pub fn default_codebook() -> Result<Codebook, ThemeError> {
    Codebook::load(&crate::model::assets::find_asset(CODEBOOK_ASSET)?)
}

/// musicnn's 50 tag names, in its output order (scenes are named after them), read from the
/// shipped weights' header.
pub fn default_tag_names() -> Result<Vec<String>, ThemeError> {
    let path = crate::model::assets::find_asset(crate::model::tagger::MUSICNN_ASSET)?;
    Ok(crate::model::musicnn::read_tag_names(&path)?)
}

/// FNV-1a 64 (the `fnv` crate, as the scanner's fingerprints) over the given byte chunks.
pub(crate) fn fnv64<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    for c in chunks {
        h.write(c);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_codebook_loads_and_matches_its_readme() {
        let cb = default_codebook().expect("assets/themes/codebook.vlcb");
        assert_eq!(cb.k(), DEFAULT_WORDS);
        assert_eq!(cb.dim(), EMBEDDING_DIM);
        let readme = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/themes/README.md"
        ))
        .expect("assets/themes/README.md");
        let version = cb.version();
        assert!(
            readme.contains(&format!("`{version}`")),
            "the README does not state the shipped version {version}"
        );
        assert!(
            cb.provenance().contains("--words 128"),
            "{}",
            cb.provenance()
        );
        // Every centroid is a unit vector (checked on load too) and words are distinct.
        for j in 0..cb.k() {
            let c = cb.centroid(j).expect("centroid");
            let n: f32 = c.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-3);
            assert_eq!(cb.assign(c), Some(j as u16));
        }
    }
}
