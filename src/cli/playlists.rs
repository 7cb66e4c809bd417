//! `valence history`, `valence mood` and `valence playlist ...`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{ArgGroup, Subcommand};

use super::{fmt_duration, print_json};
use crate::library::{AnalysisVersion, Library};
use crate::mood::{Calibration, Quadrant};
use crate::playlists::history::fmt_utc;
use crate::playlists::import::read_history;
use crate::playlists::journey::{Length, Shape};
use crate::playlists::m3u::{write_m3u8, M3uEntry};
use crate::playlists::{
    JourneyEnd, JourneySpec, MoodMethod, MoodReading, PlannedJourney, Play, PlayEnd, PlaylistError,
    Request, Size, Target,
};

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Import a ListenBrainz export (JSON / JSON Lines) or a Last.fm scrobble CSV: plays
    /// are matched to library tracks by artist and title; the unmatched are listed.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum PlaylistAction {
    /// Make a playlist for a mood and keep it.
    #[command(group(ArgGroup::new("target").required(true).args(["mood", "va", "now", "like"])))]
    New {
        /// A quadrant: Q1 happy, Q2 tense, Q3 sad, Q4 calm.
        #[arg(long, value_name = "Q")]
        mood: Option<String>,
        /// A valence/arousal point, e.g. `0.4,-0.3`.
        #[arg(long, value_name = "V,A", allow_hyphen_values = true)]
        va: Option<String>,
        /// Match your mood now (your most-played tracks of the last 7 days).
        #[arg(long)]
        now: bool,
        /// More like these tracks (ids or paths).
        #[arg(long, value_name = "TRACK", num_args = 1..)]
        like: Vec<String>,
        /// Number of tracks (default 25).
        #[arg(long, conflicts_with = "minutes")]
        count: Option<usize>,
        /// Length in minutes (the total lands within 5 %).
        #[arg(long)]
        minutes: Option<f64>,
        /// 0 = the closest tracks, 1 = a wide spread.
        #[arg(long, default_value_t = 0.3)]
        variety: f32,
        /// Random seed (default: the clock); the same seed and library give the same list.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        name: Option<String>,
        /// Also write it as M3U8 to this file.
        #[arg(long, value_name = "OUT")]
        m3u: Option<PathBuf>,
    },
    /// Kept playlists.
    List,
    /// A playlist's tracks (PLAYLIST: id or name).
    Show {
        playlist: String,
    },
    /// Write a playlist as M3U8 (paths relative to the file when under its folder).
    Export {
        playlist: String,
        out: PathBuf,
    },
    /// Read an M3U/M3U8 file into a kept playlist; missing entries are reported.
    Import {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
    },
    Rename {
        playlist: String,
        name: String,
    },
    /// Replace a playlist's order: the track ids in their new order (left out = removed).
    Reorder {
        playlist: String,
        #[arg(required = true)]
        tracks: Vec<i64>,
    },
    Delete {
        playlist: String,
    },
    /// Never put this track in a made playlist (`--undo` clears it).
    Never {
        track: String,
        #[arg(long)]
        undo: bool,
    },
}

/// The running analysis version and the model's calibration (defaults without a model:
/// then nothing is analysed, and the commands say so).
fn versions() -> (AnalysisVersion, Calibration) {
    let v = crate::analysis::default_version().unwrap_or_else(|_| AnalysisVersion::unavailable());
    let cal = crate::analysis::default_calibration().unwrap_or_default();
    (v, cal)
}

fn play_line(p: &Play) -> String {
    let ended = match p.ended {
        Some(PlayEnd::Finished) => "finished",
        Some(PlayEnd::Skipped) => "skipped",
        Some(PlayEnd::Stopped) => "stopped",
        None => "imported",
    };
    format!(
        "{} UTC  {:>5} of {:>5}  {:<8}  {:<7}  {} - {}",
        fmt_utc(p.started_at),
        fmt_duration(Some(p.heard_secs)),
        fmt_duration(p.duration_secs),
        ended,
        if p.counts { "counted" } else { "-" },
        if p.artist.is_empty() {
            "Unknown artist"
        } else {
            &p.artist
        },
        if p.title.is_empty() {
            "Untitled"
        } else {
            &p.title
        }
    )
}

pub fn run_history(
    lib: &mut Library,
    action: Option<HistoryAction>,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    match action {
        None => {
            let plays = lib.history(limit, false)?;
            if json {
                print_json(out, &plays)?;
            } else if plays.is_empty() {
                writeln!(
                    out,
                    "no plays yet: play music in the window, or `valence history import FILE`"
                )?;
            } else {
                for p in &plays {
                    writeln!(out, "{}", play_line(p))?;
                }
            }
        }
        Some(HistoryAction::Import { file }) => {
            let parsed =
                read_history(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = lib.import_history(&parsed)?;
            if json {
                print_json(out, &r)?;
            } else {
                writeln!(
                    out,
                    "{:?} history: {} listens read, {} matched library tracks ({} new), {} unmatched, {} bad rows",
                    r.format,
                    r.listens,
                    r.matched,
                    r.added,
                    r.unmatched.iter().map(|u| u.listens).sum::<usize>(),
                    r.bad.len()
                )?;
                if !r.unmatched.is_empty() {
                    writeln!(out, "not in the library:")?;
                }
                for u in &r.unmatched {
                    writeln!(out, "  {:>4} x {} - {}", u.listens, u.artist, u.title)?;
                }
                if !r.bad.is_empty() {
                    writeln!(out, "rows that could not be read:")?;
                }
                for b in &r.bad {
                    writeln!(out, "  line {}: {}", b.line, b.reason)?;
                }
            }
        }
    }
    Ok(())
}

pub fn run_mood(lib: &Library, json: bool, out: &mut impl Write) -> Result<()> {
    let (v, cal) = versions();
    let now = crate::library::store::now_secs();
    let week = lib.mood_now(&v, &cal, MoodMethod::Week, now)?;
    let recent = lib.mood_now(&v, &cal, MoodMethod::Recent, now)?;
    if json {
        let j = serde_json::json!({ "week": week, "recent": recent });
        print_json(out, &j)?;
        return Ok(());
    }
    for (method, r) in [(MoodMethod::Week, &week), (MoodMethod::Recent, &recent)] {
        match r {
            MoodReading::NotEnough { plays, needed } => writeln!(
                out,
                "from {}: not enough listening yet ({plays} counted plays of analysed tracks, {needed} needed)",
                method.describe()
            )?,
            MoodReading::Mood(m) => {
                writeln!(
                    out,
                    "from {}: {} ({}, {:.0} %), valence {:+.2}, arousal {:+.2}",
                    method.describe(),
                    m.mood.quadrant.label(),
                    m.mood.quadrant.name(),
                    100.0 * m.mood.confidence(),
                    m.mood.valence,
                    m.mood.arousal
                )?;
                for s in &m.sources {
                    writeln!(
                        out,
                        "  {:>3.0} %  {} plays  {} - {}  ({}, {:+.2} {:+.2})",
                        100.0 * s.weight,
                        s.plays,
                        s.artist,
                        s.title,
                        s.mood.quadrant.name(),
                        s.mood.valence,
                        s.mood.arousal
                    )?;
                }
                if m.unanalysed_plays > 0 {
                    writeln!(
                        out,
                        "  ({} plays of tracks not analysed yet left out)",
                        m.unanalysed_plays
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// What `valence journey` was asked.
pub struct JourneyArgs<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub length: Length,
    pub shape: Shape,
    pub max_step: f32,
    pub m3u: Option<&'a Path>,
    pub json: bool,
}

/// A journey end: `now` (starts), a quadrant (targets), `V,A`, or a track (then pinned
/// there).
fn journey_end(lib: &Library, which: &str, target: bool) -> Result<JourneyEnd> {
    let w = which.trim();
    if !target && w.eq_ignore_ascii_case("now") {
        return Ok(JourneyEnd::Now);
    }
    if target {
        if let Some(q) = Quadrant::parse(w) {
            return Ok(JourneyEnd::Quadrant(q));
        }
    }
    if w.contains(',') {
        let (v, a) = parse_va(w)?;
        return Ok(JourneyEnd::Point(v, a));
    }
    Ok(JourneyEnd::Track(super::analyze::find_track(lib, w)?.id))
}

pub fn run_journey(lib: &Library, a: JourneyArgs<'_>, out: &mut impl Write) -> Result<()> {
    let (v, cal) = versions();
    let spec = JourneySpec {
        from: journey_end(lib, a.from, false)?,
        to: journey_end(lib, a.to, true)?,
        length: a.length,
        shape: a.shape,
        max_step: a.max_step,
        seed: 0,
    };
    let now = crate::library::store::now_secs();
    let planned = lib.plan_journey(&v, &cal, &spec, now).map_err(|e| match e {
        PlaylistError::NotEnoughListening { plays, needed } => anyhow::anyhow!(
            "not enough listening yet to start from your mood now ({plays} counted plays of analysed tracks this week, {needed} needed): start from a point or a track"
        ),
        e => e.into(),
    })?;
    let PlannedJourney {
        request: req,
        journey: j,
        rows,
        ..
    } = planned;
    let (from, to) = (req.from, req.to);
    if let Some(path) = a.m3u {
        let entries: Vec<M3uEntry> = rows.iter().map(M3uEntry::from).collect();
        write_m3u8(path, &entries).with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        let m3u = a.m3u.map(|p| p.display().to_string());
        let j = serde_json::json!({ "request": req, "journey": j, "tracks": rows, "m3u": m3u });
        return print_json(out, &j);
    }
    writeln!(
        out,
        "journey from valence {:+.2}, arousal {:+.2} to {:+.2}, {:+.2} ({:?}): {} tracks, {}, mean seam jump {:.2}",
        from.0,
        from.1,
        to.0,
        to.1,
        a.shape,
        j.tracks.len(),
        fmt_duration(Some(j.total_secs)),
        j.mean_seam_jump
    )?;
    let mut at = 0.0;
    for (i, t) in rows.iter().enumerate() {
        let (mv, ma) = t.mood.map(|m| (m.valence, m.arousal)).unwrap_or((0.0, 0.0));
        let (wv, wa) = j.waypoints.get(i).copied().unwrap_or((mv, ma));
        writeln!(
            out,
            "{:>3}. {:>6}  {:<24.24}  {:<32.32}  {:+.2} {:+.2}  (aim {:+.2} {:+.2})",
            i + 1,
            fmt_duration(Some(at)),
            t.artist,
            t.title,
            mv,
            ma,
            wv,
            wa
        )?;
        at += t.duration_secs.unwrap_or(0.0);
    }
    if let Some(path) = a.m3u {
        writeln!(out, "written to {}", path.display())?;
    }
    Ok(())
}

fn find_playlist(lib: &Library, which: &str) -> Result<i64> {
    match lib.find_playlist(which)? {
        Some(id) => Ok(id),
        None => bail!("no playlist {which:?} (see `valence playlist list`)"),
    }
}

fn parse_va(s: &str) -> Result<(f32, f32)> {
    let (v, a) = s
        .split_once(',')
        .context("--va wants VALENCE,AROUSAL, e.g. 0.4,-0.3")?;
    let v: f32 = v.trim().parse().context("valence is not a number")?;
    let a: f32 = a.trim().parse().context("arousal is not a number")?;
    if !(-1.0..=1.0).contains(&v) || !(-1.0..=1.0).contains(&a) {
        bail!("valence and arousal lie in [-1, 1]");
    }
    Ok((v, a))
}

fn print_playlist(lib: &Library, v: &AnalysisVersion, id: i64, out: &mut impl Write) -> Result<()> {
    let p = lib
        .playlist(v, id)?
        .with_context(|| format!("no playlist {id}"))?;
    writeln!(
        out,
        "playlist {}: {} ({} tracks, {})",
        p.summary.id,
        p.summary.name,
        p.summary.tracks,
        fmt_duration(Some(p.summary.duration_secs))
    )?;
    for (i, t) in p.tracks.iter().enumerate() {
        let mood = match &t.mood {
            Some(m) => format!(
                "{} {:<5} {:+.2} {:+.2}",
                m.quadrant.name(),
                m.quadrant.label(),
                m.valence,
                m.arousal
            ),
            None => "not analysed".into(),
        };
        writeln!(
            out,
            "{:>3}. {:>6}  {:<24.24}  {:<32.32}  {:>6}  {}",
            i + 1,
            t.id,
            t.artist,
            t.title,
            fmt_duration(t.duration_secs),
            mood
        )?;
    }
    Ok(())
}

pub fn run_playlist(
    lib: &mut Library,
    action: PlaylistAction,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let (v, cal) = versions();
    match action {
        PlaylistAction::New {
            mood,
            va,
            now,
            like,
            count,
            minutes,
            variety,
            seed,
            name,
            m3u,
        } => {
            let target = if let Some(q) = mood {
                Target::Quadrant(
                    Quadrant::parse(&q).with_context(|| format!("--mood {q:?}: use Q1..Q4"))?,
                )
            } else if let Some(p) = va {
                let (valence, arousal) = parse_va(&p)?;
                Target::Point { valence, arousal }
            } else if now {
                Target::Now
            } else {
                let mut ids = Vec::new();
                for t in &like {
                    ids.push(super::analyze::find_track(lib, t)?.id);
                }
                Target::Like(ids)
            };
            let size = match (count, minutes) {
                (_, Some(m)) => Size::Minutes(m),
                (Some(n), None) => Size::Count(n),
                (None, None) => Size::Count(25),
            };
            let clock = crate::library::store::now_secs();
            let req = Request {
                target,
                size,
                variety,
                seed: seed.unwrap_or(clock as u64),
            };
            let made = lib.make_playlist(&v, &cal, &req, clock)?;
            let name = name.unwrap_or_else(|| made.name.clone());
            let id = lib.create_playlist(&name, Some(&made.request), &made.generated.tracks)?;
            if let Some(path) = &m3u {
                lib.export_playlist(&v, id, path)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                let p = lib.playlist(&v, id)?;
                let j = serde_json::json!({ "playlist": p, "made": made, "m3u": m3u.as_deref().map(Path::to_string_lossy) });
                print_json(out, &j)?;
            } else {
                if let Some(m) = &made.mood_now {
                    writeln!(
                        out,
                        "your mood now: {} ({}), valence {:+.2}, arousal {:+.2}",
                        m.mood.quadrant.label(),
                        m.mood.quadrant.name(),
                        m.mood.valence,
                        m.mood.arousal
                    )?;
                }
                print_playlist(lib, &v, id, out)?;
                writeln!(
                    out,
                    "seed {} (same seed, same library: same playlist)",
                    req.seed
                )?;
                if let Some(path) = &m3u {
                    writeln!(out, "written to {}", path.display())?;
                }
            }
        }
        PlaylistAction::List => {
            let all = lib.playlists()?;
            if json {
                print_json(out, &all)?;
            } else if all.is_empty() {
                writeln!(out, "no playlists yet: `valence playlist new --mood Q4`")?;
            } else {
                for p in &all {
                    writeln!(
                        out,
                        "{:>5}  {:<40.40}  {:>4} tracks  {:>8}  {}",
                        p.id,
                        p.name,
                        p.tracks,
                        fmt_duration(Some(p.duration_secs)),
                        fmt_utc(p.updated_at)
                    )?;
                }
            }
        }
        PlaylistAction::Show { playlist } => {
            let id = find_playlist(lib, &playlist)?;
            if json {
                print_json(out, &lib.playlist(&v, id)?)?;
            } else {
                print_playlist(lib, &v, id, out)?;
            }
        }
        PlaylistAction::Export {
            playlist,
            out: path,
        } => {
            let id = find_playlist(lib, &playlist)?;
            let n = lib.export_playlist(&v, id, &path)?;
            if json {
                let j = serde_json::json!({ "playlist": id, "entries": n, "file": path.to_string_lossy() });
                print_json(out, &j)?;
            } else {
                writeln!(out, "wrote {n} entries to {}", path.display())?;
            }
        }
        PlaylistAction::Import { file, name } => {
            let r = lib.import_playlist(&file, name.as_deref())?;
            if json {
                print_json(out, &r)?;
            } else {
                writeln!(
                    out,
                    "playlist {} ({}): {} of {} entries added",
                    r.playlist_id, r.name, r.added, r.entries
                )?;
                for m in &r.missing {
                    writeln!(out, "  line {}: {}: {}", m.line, m.path.display(), m.reason)?;
                }
            }
        }
        PlaylistAction::Rename { playlist, name } => {
            let id = find_playlist(lib, &playlist)?;
            lib.rename_playlist(id, &name)?;
            if json {
                print_json(out, &serde_json::json!({ "playlist": id, "name": name }))?;
            } else {
                writeln!(out, "playlist {id} is now {name:?}")?;
            }
        }
        PlaylistAction::Reorder { playlist, tracks } => {
            let id = find_playlist(lib, &playlist)?;
            lib.set_playlist_tracks(id, &tracks)?;
            if json {
                print_json(out, &lib.playlist(&v, id)?)?;
            } else {
                print_playlist(lib, &v, id, out)?;
            }
        }
        PlaylistAction::Delete { playlist } => {
            let id = find_playlist(lib, &playlist)?;
            lib.delete_playlist(id)?;
            if json {
                print_json(out, &serde_json::json!({ "deleted": id }))?;
            } else {
                writeln!(out, "deleted playlist {id}")?;
            }
        }
        PlaylistAction::Never { track, undo } => {
            let t = super::analyze::find_track(lib, &track)?;
            lib.set_never_in_playlists(t.id, !undo)?;
            if json {
                let j = serde_json::json!({ "track": t.id, "never_in_playlists": !undo });
                return print_json(out, &j);
            }
            writeln!(
                out,
                "track {} {} in made playlists",
                t.id,
                if undo {
                    "may appear again"
                } else {
                    "will never appear"
                }
            )?;
        }
    }
    Ok(())
}
