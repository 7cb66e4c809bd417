//! The music library: walking folders, reading tags, and the SQLite store.

pub(crate) mod analysis;
pub mod demo;
mod scan;
pub(crate) mod store;
mod tags;

pub use crate::mood::{Mood, Quadrant};
pub use analysis::{
    seam_points, AnalysisCounts, AnalysisData, AnalysisVersion, BrowseRow, PendingTrack,
    SceneInput, StoredAnalysis, Thumbnail, TimelinePoint,
};
pub use scan::{scan, ScanOptions, ScanReport};
pub use store::{
    default_db_path, FileStatus, Library, LibraryCounts, StoreError, TrackRow, SCHEMA_VERSION,
};
pub use tags::{read_tags, TrackTags};
