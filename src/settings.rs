//! The window's settings that outlive it: theme, volume, ReplayGain mode, window size and the
//! last queue, kept as TOML in the XDG config directory (`$XDG_CONFIG_HOME/valence/
//! settings.toml`, usually `~/.config/valence/settings.toml`).
//!
//! Reading never fails: a missing file is the defaults; a file that is not TOML is the
//! defaults plus a warning that says the file is broken; a key we do not know, or a value of
//! the wrong kind, is ignored (that setting keeps its default) with a warning naming it, so
//! one bad line costs that line only. Writing is atomic (a temporary file renamed over the
//! old one), so a crash mid-write leaves the old file, never half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::ReplayGainMode;

/// The file's name in the config directory.
pub const FILE_NAME: &str = "settings.toml";

/// The window's size when nothing is saved (and the smallest one restored: a saved size
/// below it is treated as damage, not a wish).
pub const DEFAULT_WINDOW: (f32, f32) = (1280.0, 800.0);
const MIN_WINDOW: f32 = 320.0;
const MAX_WINDOW: f32 = 16384.0;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

/// One queued track: its library id, and its path to find it again should the id have
/// changed (a rebuilt library). Paths that are not UTF-8 are kept by id only (TOML strings
/// are UTF-8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedTrack {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The queue when the window closed: restored paused at `position` seconds of
/// `tracks[index]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedQueue {
    pub index: usize,
    pub position: f64,
    pub tracks: Vec<SavedTrack>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSize {
    pub width: f32,
    pub height: f32,
}

impl Default for WindowSize {
    fn default() -> Self {
        Self {
            width: DEFAULT_WINDOW.0,
            height: DEFAULT_WINDOW.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub theme: Theme,
    /// 0..=1.
    pub volume: f32,
    pub replaygain: ReplayGainMode,
    pub window: WindowSize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<SavedQueue>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::default(),
            volume: 0.8,
            replaygain: ReplayGainMode::default(),
            window: WindowSize::default(),
            queue: None,
        }
    }
}

/// What reading the file gave: the settings, what was wrong with it (one line each), and
/// whether the file as a whole was unreadable (the window says so, not just stderr).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
    pub broken: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the settings: {0}")]
    Encode(#[from] toml::ser::Error),
}

/// `$XDG_CONFIG_HOME/valence/settings.toml` (`~/.config/...` when unset); `None` on a system
/// with no home directory.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "valence", "valence")
        .map(|d| d.config_dir().join(FILE_NAME))
}

/// Reads `path`. Never fails: see the module's doc.
pub fn load(path: &Path) -> Loaded {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::default(),
        Err(e) => return broken(path, &e.to_string()),
    };
    let Ok(text) = String::from_utf8(text) else {
        return broken(path, "not UTF-8 text");
    };
    match text.parse::<toml::Table>() {
        Ok(table) => from_table(table),
        Err(e) => broken(path, e.message()),
    }
}

fn broken(path: &Path, why: &str) -> Loaded {
    Loaded {
        settings: Settings::default(),
        warnings: vec![format!(
            "the settings file {} cannot be read ({why}); using the defaults",
            path.display()
        )],
        broken: true,
    }
}

/// Each known key on its own, so that one bad value costs that setting only.
fn from_table(table: toml::Table) -> Loaded {
    let mut out = Loaded::default();
    let s = &mut out.settings;
    for (key, value) in table {
        let ok = match key.as_str() {
            "theme" => value.try_into().map(|v| s.theme = v).is_ok(),
            "replaygain" => value.try_into().map(|v| s.replaygain = v).is_ok(),
            "volume" => match value.as_float().or(value.as_integer().map(|i| i as f64)) {
                Some(v) if (0.0..=1.0).contains(&v) => {
                    s.volume = v as f32;
                    true
                }
                _ => false,
            },
            "window" => match value.try_into::<WindowSize>() {
                Ok(w) if window_ok(w) => {
                    s.window = w;
                    true
                }
                _ => false,
            },
            "queue" => match value.try_into::<SavedQueue>() {
                Ok(q) if q.index < q.tracks.len() && q.position.is_finite() => {
                    s.queue = Some(SavedQueue {
                        position: q.position.max(0.0),
                        ..q
                    });
                    true
                }
                _ => false,
            },
            _ => {
                out.warnings
                    .push(format!("unknown setting `{key}` ignored"));
                continue;
            }
        };
        if !ok {
            out.warnings.push(format!(
                "setting `{key}` has a value we cannot use; using the default"
            ));
        }
    }
    out
}

fn window_ok(w: WindowSize) -> bool {
    let fits = |v: f32| v.is_finite() && (MIN_WINDOW..=MAX_WINDOW).contains(&v);
    fits(w.width) && fits(w.height)
}

/// Writes `settings` to `path` atomically: a temporary file beside it, flushed, renamed over.
pub fn save(path: &Path, settings: &Settings) -> Result<(), SettingsError> {
    let text = toml::to_string(settings)?;
    let err = |source| SettingsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new("."))).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Settings {
        Settings {
            theme: Theme::Light,
            volume: 0.35,
            replaygain: ReplayGainMode::Album,
            window: WindowSize {
                width: 1024.0,
                height: 700.0,
            },
            queue: Some(SavedQueue {
                index: 1,
                position: 12.5,
                tracks: vec![
                    SavedTrack {
                        id: 3,
                        path: Some("/music/a b.flac".into()),
                    },
                    SavedTrack { id: 7, path: None },
                ],
            }),
        }
    }

    #[test]
    fn settings_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/valence").join(FILE_NAME);
        save(&path, &sample()).expect("save");
        let loaded = load(&path);
        assert_eq!(loaded.settings, sample());
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert!(!loaded.broken);
        // Saved again over the old file: still one file, no temporaries left beside it.
        save(&path, &Settings::default()).expect("save again");
        assert_eq!(load(&path).settings, Settings::default());
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn a_missing_file_is_the_defaults_without_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = load(&dir.path().join(FILE_NAME));
        assert_eq!(loaded, Loaded::default());
    }

    #[test]
    fn a_broken_file_falls_back_to_the_defaults_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        for junk in [
            &b"theme = \"light\"\nvolume = [unclosed"[..],
            b"\xff\xfe\x00garbage",
        ] {
            std::fs::write(&path, junk).expect("write");
            let loaded = load(&path);
            assert!(loaded.broken);
            assert_eq!(loaded.settings, Settings::default());
            assert_eq!(loaded.warnings.len(), 1);
            assert!(loaded.warnings[0].contains("cannot be read"));
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_fall_back_with_a_warning_each() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "colour = \"purple\"\n").expect("write");
        let loaded = load(&path);
        assert_eq!(loaded.settings, Settings::default());
        assert!(!loaded.broken);
        assert_eq!(loaded.warnings, vec!["unknown setting `colour` ignored"]);

        // Known keys with good values survive their bad neighbours.
        std::fs::write(
            &path,
            "theme = \"light\"\nvolume = 7.0\nreplaygain = \"loud\"\nshuffle = true\n\
             [window]\nwidth = 2.0\nheight = 600.0\n\
             [queue]\nindex = 5\nposition = 1.0\ntracks = [{ id = 1 }]\n",
        )
        .expect("write");
        let loaded = load(&path);
        assert_eq!(loaded.settings.theme, Theme::Light);
        assert_eq!(
            Settings {
                theme: Theme::Dark,
                ..loaded.settings.clone()
            },
            Settings::default()
        );
        assert_eq!(loaded.warnings.len(), 5, "{:?}", loaded.warnings);
        for key in ["volume", "replaygain", "shuffle", "window", "queue"] {
            assert!(
                loaded
                    .warnings
                    .iter()
                    .any(|w| w.contains(&format!("`{key}`"))),
                "no warning for {key}: {:?}",
                loaded.warnings
            );
        }
    }
}
