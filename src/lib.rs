//! Valence: a desktop music player that knows how music feels.
//!
//! Laid out the way data flows: `library` (scan, tags, store) -> `audio` (decode, resample,
//! playback) -> `model` (networks) ; `cli` is the command-line edge.

pub mod audio;
pub mod cli;
pub mod features;
pub mod library;
pub mod model;
