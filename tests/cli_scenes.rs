//! `valence scenes` and the scene mix in `valence show`, through the binary, on a made-up
//! analysed library whose clusters each have their own audio words and tags
//! (`valence::library::demo`).

mod common;

use std::path::Path;

use serde_json::Value;

use common::{valence_cli as valence, valence_json as json};

fn demo(db: &Path, tracks: usize) {
    let v = valence::analysis::default_version().expect("the shipped model");
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    valence::library::demo::write_demo_library(db, tracks, 0, 5, &v, &cal).expect("demo");
}

#[test]
fn cli_scenes_fit_once_fold_in_new_tracks_and_show_in_tracks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("lib.sqlite3");
    // Too small: says why.
    demo(&db, 12);
    let o = valence(&db, &["scenes"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("no scenes yet"), "{text}");

    let db = dir.path().join("big.sqlite3");
    demo(&db, 400);
    let first = json(&db, &["scenes", "--scenes", "8", "--json"]);
    assert_eq!(first["fit"]["tracks"], 400);
    assert_eq!(first["fit"]["scenes"], 8);
    let scenes = first["scenes"].as_array().expect("scenes");
    assert_eq!(scenes.len(), 8);
    let main: u64 = scenes
        .iter()
        .map(|s| s["tracks"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(main, 400, "every track has a main scene");
    for s in scenes {
        let name = s["name"].as_str().expect("name");
        assert!(name.contains(" · ") && name.contains(": "), "{name}");
    }
    // Not due again: no refit, nothing to fold in.
    let again = json(&db, &["scenes", "--json"]);
    assert!(again["fit"].is_null());
    assert_eq!(again["folded_in"], 0);
    // A track's scene mix in `valence show`, largest share first, naming listed scenes.
    let show = json(&db, &["show", "7", "--json"]);
    let mix = show["scenes"].as_array().expect("scene mix");
    assert!(!mix.is_empty());
    let shares: Vec<f64> = mix
        .iter()
        .map(|m| m["share"].as_f64().unwrap_or(0.0))
        .collect();
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
    let ids: Vec<&Value> = scenes.iter().map(|s| &s["id"]).collect();
    assert!(mix.iter().all(|m| ids.contains(&&m["scene"])));
    let text = String::from_utf8_lossy(&valence(&db, &["show", "7"]).stdout).into_owned();
    assert!(text.contains("  scenes: "), "{text}");

    // Renamed: listed under the new name, the automatic one kept beside it.
    let id = scenes[0]["id"].as_i64().expect("id");
    let o = valence(&db, &["scenes", "rename", &id.to_string(), "Late night"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed = json(&db, &["scenes", "--json"]);
    let renamed = listed["scenes"]
        .as_array()
        .expect("scenes")
        .iter()
        .find(|s| s["id"] == id)
        .expect("still listed")
        .clone();
    assert_eq!(renamed["name"], "Late night");
    assert_eq!(renamed["auto_name"], scenes[0]["auto_name"]);
    // Typical tracks: ids of the library's tracks, at most five.
    let typical = renamed["typical"].as_array().expect("typical");
    assert!(!typical.is_empty() && typical.len() <= 5);
    // An empty name or an unknown scene is refused with the reason.
    let o = valence(&db, &["scenes", "rename", &id.to_string(), "  "]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be empty"));
    let o = valence(&db, &["scenes", "rename", "99999", "x"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no scene 99999"));
}
