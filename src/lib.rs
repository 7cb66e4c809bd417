//! Valence: a desktop music player that knows how music feels.
//!
//! Laid out the way data flows: `library` (scan, tags, store) -> `audio` (decode, resample,
//! playback) -> `features` -> `model` (networks, inference) -> `analysis` (the background
//! engine); `train` (data sets, folds, metrics, training) sits beside `model`; `mood` is the
//! one emotion vocabulary; `themes` (audio words by k-means, theme scenes by LDA) turns
//! segment embeddings into scenes; `gui` and `cli` are the edges.

pub mod analysis;
pub mod audio;
pub mod cli;
pub mod desktop;
pub mod features;
pub mod gui;
pub mod library;
pub mod model;
pub mod mood;
pub mod playlists;
pub mod settings;
pub mod themes;
pub mod train;

/// The one reverse-DNS application ID: the desktop file's and icon's name, the AppStream
/// component id, and the window's X11 WM_CLASS (desktops match windows to launchers by it).
/// `tests/packaging.rs` checks that the files under `packaging/` agree with it.
pub const APP_ID: &str = "io.github.valence_music.Valence";
