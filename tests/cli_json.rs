//! The command line fits in: shell completions and manual pages generated from the clap
//! definition, and `--json` on every command that prints data. The subcommand lists are
//! derived from clap, so a new subcommand without completions, a page, a `--json` flag or a
//! row in the JSON table fails here.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use serde_json::Value;

use common::{valence_cli as valence, valence_json as json};

/// Commands that print no data, so need no `--json`: what they print is itself a format.
const NO_DATA: &[&str] = &[
    // A shell script for the shell named.
    "completions",
    // roff manual pages (on stdout, or files with their names on stderr).
    "man",
];

/// Every subcommand of `root`, parents before children, as its words (`["playlist", "new"]`),
/// with its clap definition and whether a global `--json` reaches it from an ancestor.
fn subcommands_of(root: &clap::Command) -> Vec<(Vec<String>, clap::Command, bool)> {
    fn walk(
        c: &clap::Command,
        path: &[String],
        inherited: bool,
        all: &mut Vec<(Vec<String>, clap::Command, bool)>,
    ) {
        for s in c.get_subcommands() {
            let mut p = path.to_vec();
            p.push(s.get_name().to_string());
            all.push((p.clone(), s.clone(), inherited));
            let global = s
                .get_arguments()
                .any(|a| a.get_long() == Some("json") && a.is_global_set());
            walk(s, &p, inherited || global, all);
        }
    }
    let mut all = Vec::new();
    walk(root, &[], false, &mut all);
    all
}

fn subcommands() -> Vec<(Vec<String>, clap::Command, bool)> {
    let all = subcommands_of(&valence::cli::Cli::command());
    assert!(all.len() > 20, "only {} subcommands found", all.len());
    all
}

/// The commands one can run as they stand (`playlist` alone needs an action; `history` and
/// `scenes` alone print data).
fn runnable_of(
    all: Vec<(Vec<String>, clap::Command, bool)>,
) -> Vec<(Vec<String>, clap::Command, bool)> {
    all.into_iter()
        .filter(|(_, c, _)| !c.is_subcommand_required_set())
        .collect()
}

fn runnable() -> Vec<(Vec<String>, clap::Command, bool)> {
    runnable_of(subcommands())
}

/// The runnable commands of `root` outside `NO_DATA` that take no `--json`, of their own or
/// from an ancestor's global one.
fn lacking_json(root: &clap::Command) -> Vec<String> {
    let mut missing = Vec::new();
    for (path, c, inherited) in runnable_of(subcommands_of(root)) {
        if NO_DATA.contains(&path.join(" ").as_str()) {
            continue;
        }
        let own = c
            .get_arguments()
            .any(|a| a.get_id() == "json" && a.get_long() == Some("json"));
        if !own && !inherited {
            missing.push(path.join(" "));
        }
    }
    missing
}

#[test]
fn every_data_command_has_a_json_flag() {
    let missing = lacking_json(&valence::cli::Cli::command());
    assert!(missing.is_empty(), "no --json on: {missing:?}");
    // The check itself, on a tree where `b x` and `c` forgot theirs: `a` and `b y` have
    // their own, `d` and `d z` get `d`'s global one, `b` needs an action, `man` is allowed.
    use clap::{Arg, ArgAction};
    let json = || Arg::new("json").long("json").action(ArgAction::SetTrue);
    let probe = clap::Command::new("probe")
        .subcommand(clap::Command::new("a").arg(json()))
        .subcommand(
            clap::Command::new("b")
                .subcommand_required(true)
                .subcommand(clap::Command::new("x"))
                .subcommand(clap::Command::new("y").arg(json())),
        )
        .subcommand(
            clap::Command::new("d")
                .arg(json().global(true))
                .subcommand(clap::Command::new("z")),
        )
        .subcommand(clap::Command::new("c"))
        .subcommand(clap::Command::new("man"));
    assert_eq!(lacking_json(&probe), ["b x", "c"]);
    // The allow-list names real commands (a renamed one would silently stop being checked).
    let top: BTreeSet<String> = subcommands()
        .into_iter()
        .map(|(p, ..)| p.join(" "))
        .collect();
    for n in NO_DATA {
        assert!(top.contains(*n), "NO_DATA names no command {n:?}");
    }
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_valence"))
        .args(args)
        .output()
        .expect("run valence")
}

#[test]
fn completions_name_every_subcommand() {
    let names: BTreeSet<String> = subcommands()
        .into_iter()
        .filter_map(|(p, ..)| p.last().cloned())
        .collect();
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert!(
            o.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        assert!(script.contains("valence"), "{shell}");
        for n in &names {
            assert!(
                script.contains(n.as_str()),
                "{shell} completion lacks {n:?}"
            );
        }
        // Options too, e.g. the global --db and a sub-subcommand's own option.
        assert!(
            script.contains("db") && script.contains("variety"),
            "{shell}"
        );
    }
    // The bash script parses.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("valence.bash");
    std::fs::write(&file, run(&["completions", "bash"]).stdout).expect("write");
    let ok = Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .expect("bash -n");
    assert!(ok.success(), "bash -n rejects the completion script");
    // Not a shell: refused by clap, with the shells named.
    let o = run(&["completions", "tcsh"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("fish"));
}

#[test]
fn man_pages_for_valence_and_every_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let o = run(&["man", "--out", out.to_str().expect("utf-8 temp path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty(), "the pages go to files, not stdout");
    let main = std::fs::read_to_string(out.join("valence.1")).expect("valence.1");
    assert!(
        main.lines().any(|l| l.starts_with(".TH valence 1")),
        "{main}"
    );
    let all = subcommands();
    let mut expected = BTreeSet::from(["valence.1".to_string()]);
    for (path, ..) in &all {
        let name = format!("valence-{}", path.join("-"));
        let page = std::fs::read_to_string(out.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!(".TH {name} 1"))),
            "{name}.1 has no .TH header"
        );
        assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"));
        expected.insert(format!("{name}.1"));
        if path.len() == 1 {
            assert!(
                main.contains(&format!("valence\\-{}(1)", path[0])),
                "valence.1 does not list {}",
                path[0]
            );
        }
    }
    let files: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, expected, "one page per command, nothing else");
    // Without --out: the same valence.1 on stdout.
    let o = run(&["man"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), main);
    // groff renders it without a warning.
    let r = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(out.join("valence-playlist-new.1"))
        .output();
    if let Ok(r) = r {
        assert!(r.status.success());
        assert!(
            r.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
}

/// What one row of the table expects of the JSON: `Some(check)` inspects it.
type Check = fn(&Value) -> bool;

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_string()
}

/// Every runnable data command with `--json` on a small library: stdout must be one JSON
/// document with the command's figures, and every such command must have a row.
#[test]
fn every_data_command_prints_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // The engine's feature cache stays in the test's folder.
    std::env::set_var("XDG_CACHE_HOME", d.join("cache"));
    let db = d.join("lib.sqlite3");
    let v = valence::analysis::default_version().expect("the shipped model");
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    // 40 analysed tracks (enough for scenes) with 20 plays (enough for a mood), and two short
    // songs on disk for `scan` and the engine's commands.
    valence::library::demo::write_demo_library(&db, 40, 20, 3, &v, &cal).expect("demo");
    let music = d.join("music");
    std::fs::create_dir_all(&music).expect("mkdir");
    let mut songs = Vec::new();
    for i in 0..4 {
        let p = music.join(format!("s{i}.wav"));
        common::write_song(&p, 6.0, 50 + i);
        songs.push(p);
    }
    let manifest = d.join("manifest.csv");
    let mut csv = String::from("path,quadrant,artist,valence,arousal\n");
    for (i, (q, va)) in [
        ("Q1", "0.5,0.5"),
        ("Q2", "-0.5,0.5"),
        ("Q3", "-0.5,-0.5"),
        ("Q4", "0.5,-0.5"),
    ]
    .iter()
    .enumerate()
    {
        csv.push_str(&format!("{},{q},Artist {i},{va}\n", s(&songs[i])));
    }
    std::fs::write(&manifest, csv).expect("manifest");
    // Listens to import: six library tracks in the last hours (so `history` and `mood` have
    // plays to show) and one song the library lacks.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let tracks = json(&db, &["list", "--json"]);
    let mut listens_json: Vec<Value> = tracks
        .as_array()
        .expect("tracks")
        .iter()
        .take(6)
        .zip(1..)
        .map(|(t, k)| {
            serde_json::json!({"listened_at": now - 600 * k, "track_metadata": {
                "artist_name": t["artist"], "track_name": t["title"]}})
        })
        .collect();
    listens_json.push(serde_json::json!({"listened_at": now, "track_metadata": {
        "artist_name": "Nobody", "track_name": "Nowhere"}}));
    let listens = d.join("listens.json");
    std::fs::write(&listens, Value::from(listens_json).to_string()).expect("listens");
    let (m3u, png, codebook, model, seed_model, student) = (
        s(&d.join("calm.m3u8")),
        s(&d.join("s0.png")),
        s(&d.join("cb.vlcb")),
        s(&d.join("model")),
        s(&d.join("seed-model")),
        s(&d.join("student")),
    );
    let (song, music_s, manifest_s, listens_s) =
        (s(&songs[0]), s(&music), s(&manifest), s(&listens));

    // A kept playlist to show, export, reorder and delete; its tracks for reorder.
    let made = json(
        &db,
        &[
            "playlist", "new", "--mood", "Q3", "--count", "3", "--seed", "1", "--name", "calm",
            "--json",
        ],
    );
    let ids: Vec<String> = made["playlist"]["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| t["id"].to_string())
        .rev()
        .collect();
    assert_eq!(ids.len(), 3, "{made}");
    let first = ids[2].clone();
    // Scenes fitted, for `scenes` to list and `scenes rename` to name.
    let fitted = json(&db, &["scenes", "--fit", "--scenes", "3", "--json"]);
    assert_eq!(fitted["fit"]["scenes"], 3, "{fitted}");
    let scene = fitted["scenes"][0]["id"].to_string();
    let mut reorder = vec!["playlist", "reorder", "calm"];
    reorder.extend(ids.iter().map(String::as_str));

    #[rustfmt::skip]
    let table: Vec<(Vec<&str>, Check)> = vec![
        (vec!["scan", &music_s], |j| j["seen"] == 4 && j["added"] == 4),
        (vec!["list"], |j| j.as_array().is_some_and(|a| a.len() == 44)),
        (vec!["status"], |j| j["counts"]["tracks"] == 44 && j["analysis"]["pending"] == 4),
        (vec!["show", &first], |j| j["track"]["id"].is_i64() && j["mood"].is_object()),
        (vec!["history", "import", &listens_s], |j| j["listens"] == 7 && j["matched"] == 6),
        (vec!["history"], |j| j.as_array().is_some_and(|a| a.len() >= 6)),
        (vec!["mood"], |j| j["week"]["status"] == "mood"),
        (vec!["playlist", "new", "--va", "0.5,0.5", "--count", "2", "--seed", "2", "--m3u", &m3u],
            |j| j["playlist"]["tracks"].as_array().is_some_and(|a| a.len() == 2)),
        (vec!["playlist", "list"], |j| j.as_array().is_some_and(|a| a.len() == 2)),
        (vec!["playlist", "show", "calm"], |j| j["summary"]["name"] == "calm"),
        (vec!["playlist", "export", "calm", &m3u], |j| j["entries"] == 3),
        (vec!["playlist", "import", &m3u, "--name", "again"], |j| j["entries"] == 3 && j["name"] == "again"),
        (vec!["playlist", "rename", "again", "again 2"], |j| j["name"] == "again 2"),
        (reorder, |j| j["tracks"].as_array().is_some_and(|a| a.len() == 3)),
        (vec!["playlist", "delete", "again 2"], |j| j["deleted"].is_i64()),
        (vec!["playlist", "never", &first], |j| j["never_in_playlists"] == true),
        (vec!["journey", "--from", "-0.5,-0.5", "--to", "Q1", "--count", "4", "--max-step", "0.8"],
            |j| j["tracks"].as_array().is_some_and(|a| a.len() == 4)),
        (vec!["scenes"], |j| j["fit"].is_null() && j["scenes"].as_array().is_some_and(|a| a.len() == 3)),
        (vec!["scenes", "rename", &scene, " Rainy day "], |j| j["scene"].is_i64() && j["name"] == "Rainy day"),
        (vec!["spectrogram", &song, "-o", &png], |j| j["extent"]["width"].as_u64().is_some_and(|w| w > 100)),
        // The engine's commands (`valence` hands them to `valence-engine`).
        (vec!["analyze", "--jobs", "1"], |j| j["progress"]["done"] == 4 && j["progress"]["failed"] == 0),
        (vec!["tags", &song, "--top", "3"], |j| j.is_object()),
        (vec!["evaluate", "--manifest", &manifest_s], |j| j["classification"]["accuracy"].is_f64()),
        (vec!["scenes", "codebook", "--manifest", &manifest_s, "--words", "2", "--out", &codebook],
            |j| j["words"] == 2 && j["clips"] == 4),
        (vec!["scenes", "evaluate", "--manifest", &manifest_s, "--scenes", "2", "--seeds", "1", "--folds", "2", "--words", "2"],
            |j| j["all_clips"]["scenes"] == 2),
        (vec!["train", "--manifest", &manifest_s, "--folds", "0", "--members", "2", "--epochs", "1", "--out", &model],
            |j| j["tracks"] == 4 && j["final"][0]["oof_score"].is_f64()),
        (vec!["train", "--arch", "seed004", "--manifest", &manifest_s, "--folds", "0", "--epochs", "1", "--out", &seed_model],
            |j| j["tracks"] == 4 && j["model"].as_str().is_some_and(|m| Path::new(m).join("model.safetensors").is_file())),
        (vec!["distill", "--manifest", &manifest_s, "--epochs", "1", "--out", &student],
            |j| j["report"]["train_patches"].as_u64().is_some_and(|n| n > 0)
                && j["student"].as_str().is_some_and(|m| Path::new(m).is_file())),
        (vec!["sanity"], |j| j["share"].is_f64()),
        // Last: these move the library.
        (vec!["backup"], |j| j["backup_dir"].is_string()),
        (vec!["backup", "--list"], |j| j.as_array().is_some_and(|a| a.len() == 1 && a[0]["newest_good"] == true)),
        (vec!["backup", "--restore"], |j| j["restored"].is_string() && j["previous_kept_as"].is_string()),
        (vec!["backup", "--start-new"], |j| j["renamed_to"].is_string()),
    ];

    let commands: BTreeSet<String> = runnable().into_iter().map(|(p, ..)| p.join(" ")).collect();
    let mut covered = BTreeSet::new();
    for (args, check) in &table {
        let mut a = args.clone();
        a.push("--json");
        let j = json(&db, &a);
        assert!(check(&j), "valence {a:?} printed unexpected JSON: {j}");
        // The command a row runs: the longest run of its first words that names one
        // (`history import FILE` is `history import`, not `history`).
        let named = (1..=args.len())
            .rev()
            .map(|k| args[..k].join(" "))
            .find(|p| commands.contains(p))
            .unwrap_or_else(|| panic!("{args:?} names no command"));
        covered.insert(named);
    }
    let missing: Vec<&String> = commands
        .iter()
        .filter(|p| !NO_DATA.contains(&p.as_str()) && !covered.contains(*p))
        .collect();
    assert!(missing.is_empty(), "no JSON row for: {missing:?}");

    // The text output stays for people: no JSON without the flag.
    let o = valence(&db, &["backup", "--list"]);
    assert!(o.status.success());
    assert!(serde_json::from_slice::<Value>(&o.stdout).is_err());
}
