//! Training and honest evaluation of the emotion model, apart from the networks (`model/`).
//!
//! The model regresses a valence/arousal point (continuous targets from the manifest) and the
//! quadrant is the point's quadrant (`crate::mood`). Losses per axis: mean squared error and
//! 1 - CCC against the continuous target, plus a logistic loss on the sign the quadrant label
//! gives (the point at temperature `TRAIN_TEMP`), on the track and, with a smaller weight, on
//! every segment (each carries its track's targets).
//!
//! Protocol (`nested_cv`):
//! - outer k-fold cross-validation grouped by artist (no artist on both sides);
//! - inside each outer training set, an artist-grouped inner k-fold: each inner fold trains one
//!   ensemble member, early-stopped on its inner validation artists, whose out-of-fold (OOF)
//!   predictions score the variant and fit the probability temperatures;
//! - each candidate variant is scored on its OOF predictions; the best one's ensemble predicts
//!   the outer test fold, which no choice has seen;
//! - a plain logistic regression on mean+max pooled embedding + descriptor, its L2 strength
//!   chosen on the same inner folds, is scored on the same outer folds.

//!
//! Modules, in the order data flows: `manifest` (the labelled CSV), `dataset` (features per
//! row through the analyser's route), `cache` (those features on disk), `folds` (artist-
//! grouped splits), `fit` (one model, the fold ensemble, temperatures), `metrics`, `cv`
//! (the protocol) and `baseline`.

pub mod baseline;
pub mod cache;
pub mod cv;
pub mod dataset;
pub mod distill;
pub mod fit;
pub mod folds;
pub mod manifest;
pub mod metrics;
pub mod seeds;

pub use cv::{nested_cv, nested_cv_per_fold, score, CandidateResult, NestedResult, Scored};
pub use dataset::{load_dataset, Dataset};
pub use fit::{
    fit, fit_calibration, predict_points, train_ensemble, Ensemble, PointPrediction, TrainError,
    TrainOptions, MODEL_VERSION,
};

/// The one seeded PRNG of training and fold assignment (shuffles, crops, mixup): ChaCha8,
/// reproducible across platforms and releases of `rand_chacha`.
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator seeded with `seed`.
pub fn seeded(seed: u64) -> Rng {
    rand::SeedableRng::seed_from_u64(seed)
}
