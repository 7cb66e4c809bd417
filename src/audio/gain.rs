//! ReplayGain: which gain playback applies. The loudness itself is measured during analysis
//! (EBU R128) or read from a file's ReplayGain tags.

use serde::{Deserialize, Serialize};

/// Which gain playback applies to a track: none, the track's own, or its album's (so the
/// loudness steps between an album's songs stay as mastered). Kept in the settings file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayGainMode {
    Off,
    #[default]
    Track,
    Album,
}

impl ReplayGainMode {
    pub const ALL: [ReplayGainMode; 3] = [Self::Off, Self::Track, Self::Album];

    /// The word shown in the window and the settings file.
    pub fn label(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Track => "track",
            Self::Album => "album",
        }
    }
}

impl std::fmt::Display for ReplayGainMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
