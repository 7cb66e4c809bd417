//! `valence history`, `valence history import`, `valence mood` and `valence playlist ...`
//! through the binary, with `--json`, on a library of tagged synthetic tracks whose analysis
//! results are stored directly (the model itself is tested elsewhere).

mod common;

use serde_json::Value;

use common::{valence_cli as valence, valence_json as json};

const TRACKS: [common::MoodTrack; 7] = [
    ("Morning Run", "Ana Ray", "Bright", 0.7, 0.5),
    ("Open Road", "Ben Cole", "Bright", 0.6, 0.4),
    ("Grey Harbour", "Cara Dunn", "Tides", -0.3, -0.2),
    ("Festival", "Dee Fox", "Lights", 0.8, 0.6),
    ("Still Lake", "Eli Gray", "Calm", 0.5, -0.4),
    ("Quiet Field", "Fay Hill", "Calm", 0.4, -0.5),
    ("Slow Tide", "Gus Ivy", "Calm", 0.3, -0.3),
];

#[test]
fn cli_history_mood_and_playlists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::mood_library(dir.path(), &TRACKS, 35.0, &[]);

    // Nothing played: no mood, said so.
    let m = json(&db, &["mood", "--json"]);
    assert_eq!(m["week"]["status"], "not_enough", "{m}");
    let o = valence(&db, &["mood"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("not enough listening yet"));

    // Import a ListenBrainz history: three calm listens (tags differ in case and accents),
    // one unknown song, one broken row.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let listens = serde_json::json!([
        {"listened_at": now - 7200, "track_metadata": {"artist_name": "eli gray", "track_name": "STILL LAKE"}},
        {"listened_at": now - 5400, "track_metadata": {"artist_name": "Fay Hill", "track_name": "Quiet Field"}},
        {"listened_at": now - 3600, "track_metadata": {"artist_name": "Fay Hill", "track_name": "Quiet Field"}},
        {"listened_at": now - 1800, "track_metadata": {"artist_name": "Nobody", "track_name": "Nowhere"}},
        {"listened_at": now - 900, "track_metadata": {"track_name": "No artist"}}
    ]);
    let file = dir.path().join("listens.json");
    std::fs::write(&file, listens.to_string()).expect("write");
    let file_s = file.to_string_lossy().to_string();
    let r = json(&db, &["history", "import", &file_s, "--json"]);
    assert_eq!(r["format"], "ListenBrainz");
    assert_eq!(
        (r["matched"].as_u64(), r["added"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(r["unmatched"][0]["title"], "Nowhere");
    assert_eq!(r["bad"].as_array().map(Vec::len), Some(1));
    let text =
        String::from_utf8_lossy(&valence(&db, &["history", "import", &file_s]).stdout).to_string();
    assert!(text.contains("3 matched library tracks (0 new)"), "{text}");
    let h = json(&db, &["history", "--json"]);
    assert_eq!(h.as_array().map(Vec::len), Some(3));

    // The mood now: calm (Q4), from the two tracks, Quiet Field weighing 2/3.
    let m = json(&db, &["mood", "--json"]);
    assert_eq!(m["week"]["status"], "mood");
    assert_eq!(m["week"]["mood"]["quadrant"], "Q4", "{m}");
    assert_eq!(m["week"]["sources"][0]["title"], "Quiet Field");
    assert_eq!(m["week"]["sources"][0]["plays"], 2);
    assert_eq!(m["recent"]["status"], "mood");

    // A calm playlist with an M3U8 beside it: Quiet Field and Still Lake were played in the
    // last 24 hours, so only Slow Tide is left.
    let m3u = dir.path().join("calm.m3u8");
    let m3u_s = m3u.to_string_lossy().to_string();
    let p = json(
        &db,
        &[
            "playlist", "new", "--mood", "Q4", "--count", "1", "--seed", "3", "--m3u", &m3u_s,
            "--json",
        ],
    );
    let tracks = p["playlist"]["tracks"].as_array().expect("tracks").clone();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0]["title"], "Slow Tide");
    let text = std::fs::read_to_string(&m3u).expect("m3u written");
    assert!(
        text.starts_with("#EXTM3U\n#EXTINF:35,Gus Ivy - Slow Tide\n"),
        "{text}"
    );
    // Two calm tracks cannot be had: the error names the rule.
    let o = valence(&db, &["playlist", "new", "--mood", "Q4", "--count", "2"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("played in the last 24 hours: 2"), "{err}");

    // Other targets.
    let p = json(
        &db,
        &[
            "playlist",
            "new",
            "--va",
            "0.7,0.5",
            "--count",
            "2",
            "--seed",
            "1",
            "--variety",
            "0",
            "--json",
        ],
    );
    assert_eq!(p["playlist"]["tracks"][0]["title"], "Morning Run", "{p}");
    // Tracks by path (ids depend on the scan's order).
    let morning = dir
        .path()
        .join("music/0.flac")
        .to_string_lossy()
        .to_string();
    let p = json(
        &db,
        &[
            "playlist", "new", "--like", &morning, "--count", "2", "--json",
        ],
    );
    let like: Vec<&str> = p["playlist"]["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert!(!like.contains(&"Morning Run"), "{like:?}");
    let p = json(&db, &["playlist", "new", "--now", "--count", "1", "--json"]);
    assert_eq!(p["made"]["mood_now"]["mood"]["quadrant"], "Q4");
    let o = valence(&db, &["playlist", "new", "--mood", "Q9"]);
    assert!(!o.status.success());

    // Kept: list, show, rename, reorder, export, import, delete.
    let list = json(&db, &["playlist", "list", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(4));
    let id = list[0]["id"].as_i64().expect("id").to_string();
    let o = valence(&db, &["playlist", "rename", &id, "Evening"]);
    assert!(o.status.success());
    let show = json(&db, &["playlist", "show", "Evening", "--json"]);
    assert_eq!(show["summary"]["name"], "Evening");
    let out = dir.path().join("out/evening.m3u8");
    std::fs::create_dir_all(out.parent().expect("parent")).expect("dir");
    let out_s = out.to_string_lossy().to_string();
    let e = json(&db, &["playlist", "export", "Evening", &out_s, "--json"]);
    assert_eq!(e["entries"].as_u64(), Some(1));
    let i = json(
        &db,
        &["playlist", "import", &m3u_s, "--name", "Back", "--json"],
    );
    assert_eq!(
        (i["added"].as_u64(), i["entries"].as_u64()),
        (Some(1), Some(1))
    );
    let o = valence(&db, &["playlist", "delete", "Back"]);
    assert!(o.status.success());
    assert_eq!(
        json(&db, &["playlist", "list", "--json"])
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    // A journey from calm to happy. The library's gap between them is wider than a 0.3
    // step: said so, with the step; larger steps cross it.
    let o = valence(
        &db,
        &[
            "journey", "--from", "0.4,-0.5", "--to", "Q1", "--count", "8",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no track within 0.30 of step"), "{err}");
    let j = json(
        &db,
        &[
            "journey",
            "--from",
            "0.4,-0.5",
            "--to",
            "Q1",
            "--count",
            "3",
            "--max-step",
            "1.0",
            "--json",
        ],
    );
    let titles: Vec<&str> = j["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    // Calm first, the bridge, and a happy track within 0.15 of Q1's clear point (0.8, 0.6):
    // Festival sits on it, Morning Run 0.14 away with a smaller jump from Open Road.
    assert_eq!(titles[..2], ["Quiet Field", "Open Road"], "{j}");
    assert!(["Festival", "Morning Run"].contains(&titles[2]), "{j}");

    // Never in playlists.
    let o = valence(&db, &["playlist", "never", &morning]);
    assert!(o.status.success());
    let o = valence(
        &db,
        &[
            "playlist",
            "new",
            "--va",
            "0.7,0.5",
            "--count",
            "1",
            "--variety",
            "0",
            "--json",
        ],
    );
    let p: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_ne!(p["playlist"]["tracks"][0]["title"], "Morning Run");
}
