//! The music library: walking folders, reading tags, and the SQLite store.

pub(crate) mod analysis;
pub mod backup;
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

/// Unix seconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn fmt_utc(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs / 60 % 60
    )
}
