//! Listening history, "your mood now", mood playlists and M3U8 files.
//!
//! Laid out like the rest of Valence, in the order data flows: `history` (plays as the
//! player and imports record them, and the counting rule), `import` (ListenBrainz and
//! Last.fm exports read into plays), `mood_now` (the listener's current mood from the
//! history, seeds 000 and 001), `generate` (playlists for a target under the rules),
//! `store` (kept playlists and the "never in playlists" list), `journey` (mood journeys),
//! `session` (a kept journey with notes and check-ins, and its printable sheet), `m3u` (M3U8
//! export and M3U/M3U8 import), `atomic` (the files they write, replaced atomically). The
//! SQL lives here, behind `Library` methods: the window and the command line only see these
//! types.

pub mod atomic;
pub mod generate;
pub mod history;
pub mod import;
pub mod journey;
pub mod m3u;
pub mod mood_now;
pub mod session;
pub mod store;

#[cfg(test)]
mod tests;

pub use generate::{
    generate, Candidate, GenerateError, Generated, Pool, Request, Rule, Size, Target,
};
pub use history::{play_counts, ImportReport, NewPlay, Play, PlayEnd, PlaySource, Unmatched};
pub use journey::{plan, Journey, JourneyError, JourneyRequest, Length, Shape, Stop};
pub use mood_now::{MoodMethod, MoodNow, MoodReading, MoodSource};
pub use session::{
    CheckIn, NewSession, Session, SessionEdit, SessionError, SessionExport, SessionItem,
    SessionStop, SessionSummary, When,
};
pub use store::{
    JourneyEnd, JourneySpec, M3uImport, Made, MissingEntry, PlannedJourney, Playlist,
    PlaylistError, PlaylistSummary, Replan,
};
