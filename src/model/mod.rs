//! Neural networks: device selection now; musicnn and the emotion model as they land.

pub mod assets;
pub mod baseline;
pub mod device;
pub mod emotion;
pub mod folds;
pub mod manifest;
pub mod metrics;
pub mod musicnn;
pub mod segments;
pub mod tagger;
pub mod train;
