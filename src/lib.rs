//! Valence: a desktop music player that knows how music feels.
//!
//! Laid out the way data flows: `library` (scan, tags, store) -> `audio` (decode, resample,
//! playback) -> `features` -> `model` (networks) -> `analysis` (the background engine); `cli` is the command-line edge.

pub mod analysis;
pub mod audio;
pub mod cli;
pub mod features;
pub mod gui;
pub mod library;
pub mod model;
pub mod mood;
