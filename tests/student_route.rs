//! A distilled student through the whole route (issue 16): `valence distill --per-fold`, the
//! honest cross-validation on those students, a model trained on one student's outputs, and
//! the analyser running that student in musicnn's place, so what it stores is the student's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use tch::{Device, Kind, Tensor};
use valence::analysis::{version_for, PatchPlan, Preparer, DEFAULT_STRIDE};
use valence::features::musicnn_input::{N_MELS, PATCH_FRAMES};
use valence::library::Library;
use valence::model::musicnn::Musicnn;
use valence::model::student::Student;

const BIN: &str = env!("CARGO_BIN_EXE_valence");

/// `valence ARGS` with its caches (segment features) in the test's folder.
fn run(dir: &Path, args: &[&str], assets: Option<&Path>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("XDG_CACHE_HOME", dir.join("cache"));
    if let Some(a) = assets {
        cmd.env("VALENCE_ASSETS", a);
    }
    cmd.output().expect("run valence")
}

fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let o = run(dir, args, None);
    assert!(
        o.status.success(),
        "valence {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// The mean tag probabilities `net` gives the analysed patches of `path` (the analyser's
/// default stride), computed here without the engine.
fn mean_tags(path: &Path, net: impl Fn(&Tensor) -> Tensor) -> Vec<f32> {
    let p = Preparer::new()
        .expect("preparer")
        .prepare(
            path,
            PatchPlan::new(DEFAULT_STRIDE),
            &AtomicBool::new(false),
        )
        .expect("prepare");
    let x = Tensor::from_slice(&p.patches).view([-1, PATCH_FRAMES as i64, N_MELS as i64]);
    Vec::<f32>::try_from(net(&x).mean_dim(&[0i64][..], false, Kind::Float)).expect("tags")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_model_trained_on_a_student_is_analysed_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // 10 songs: each outer fold's training part must fill the baseline's 4 inner folds.
    let db = common::song_library(d, 10, 8.0, 70);
    // Quadrants with matching valence/arousal signs, one artist per song.
    let signs = [(0.4, 0.3), (-0.4, 0.3), (-0.4, -0.3), (0.4, -0.3)];
    let mut csv = String::from("path,quadrant,artist,valence,arousal\n");
    for i in 0..10usize {
        let (v, a) = signs[i % 4];
        csv.push_str(&format!(
            "music/s{i:02}.wav,Q{},artist {i},{v},{a}\n",
            i % 4 + 1
        ));
    }
    let manifest = d.join("m.csv");
    std::fs::write(&manifest, csv).expect("manifest");
    let m = manifest.to_str().expect("utf-8");
    let students = d.join("students");
    let st = students.to_str().expect("utf-8");

    // One student per outer fold, each without its fold's test clips.
    let distill = [
        "distill",
        "--manifest",
        m,
        "--per-fold",
        "2",
        "--epochs",
        "1",
        "--out",
        st,
        "--json",
    ];
    let j = ok_json(d, &distill);
    let folds = j["folds"].as_array().expect("folds");
    assert_eq!(folds.len(), 2, "{j}");
    let mut excluded = 0;
    for f in folds {
        let n = f["excluded_test_rows"].as_u64().expect("excluded rows");
        assert!(
            n > 0 && f["report"]["train_patches"].as_u64() > Some(0),
            "{f}"
        );
        excluded += n;
        assert!(Path::new(f["student"].as_str().expect("student")).is_file());
    }
    assert_eq!(
        excluded, 10,
        "every clip is some fold's test clip exactly once"
    );
    // A second run keeps the students already there.
    let again = ok_json(d, &distill);
    assert_eq!(again["folds"], j["folds"]);

    // The honest cross-validation: fold i reads fold i's student; no model on all rows.
    let cv = d.join("cv");
    let train = |extra: &[&str], out: &Path| -> Output {
        let mut a = vec![
            "train",
            "--manifest",
            m,
            "--members",
            "2",
            "--epochs",
            "1",
            "--strides",
            "1",
        ];
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--out", out.to_str().expect("utf-8"), "--json"]);
        run(d, &a, None)
    };
    let o = train(&["--patch-net", st, "--folds", "2"], &cv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        j["cross_validation"]["folds"].as_array().map(Vec::len) == Some(2),
        "{j}"
    );
    assert!(j["chosen"].is_null(), "{j}");
    assert!(!cv.join("config.json").exists());
    // Students for 2 folds do not fit 3 outer folds.
    let o = train(&["--patch-net", st, "--folds", "3"], &d.join("cv3"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("fold3"));

    // A model on one student's outputs names it and carries it.
    let model = d.join("model");
    let student = students.join("fold1/student.safetensors");
    let o = train(
        &[
            "--patch-net",
            student.to_str().expect("utf-8"),
            "--folds",
            "0",
        ],
        &model,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(model.join("config.json")).expect("cfg"))
            .expect("cfg json");
    assert_eq!(cfg["patch_net"], "student.safetensors");
    let version = cfg["version"].as_str().expect("version").to_string();
    assert!(version.contains("-student-"), "{version}");
    assert!(model.join("student.safetensors").is_file());

    // The analyser with that model as the shipped one runs the student.
    let assets = d.join("assets");
    common::copy_dir(
        &common::repo().join("assets/models"),
        &assets.join("models"),
    );
    let emotion = assets.join("models/emotion");
    std::fs::remove_dir_all(&emotion).expect("rm");
    common::copy_dir(&model, &emotion);
    let db_s = db.to_str().expect("utf-8");
    let o = run(
        d,
        &["--db", db_s, "analyze", "--jobs", "1", "--json"],
        Some(&assets),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = Library::open(&db).expect("open");
    let codebook = valence::themes::default_codebook().expect("codebook");
    let v = version_for(&version, DEFAULT_STRIDE, &codebook.version());
    let s = Student::load(&emotion.join("student.safetensors"), Device::Cpu).expect("student");
    let musicnn = Musicnn::load(
        &common::repo().join("assets/models/msd_musicnn.safetensors"),
        Device::Cpu,
    )
    .expect("musicnn");
    let tracks = lib.tracks().expect("tracks");
    assert_eq!(tracks.len(), 10);
    for t in tracks {
        let stored = lib
            .analysis(t.id, &v)
            .expect("analysis")
            .and_then(|a| a.data)
            .unwrap_or_else(|| panic!("{}: no result under {}", t.path.display(), v.model));
        let path: PathBuf = t.path.clone();
        let want = mean_tags(&path, |x| s.try_forward(x).expect("student").0);
        assert!(
            max_diff(&stored.tag_means, &want) < 1e-5,
            "{}",
            path.display()
        );
        let teacher = mean_tags(&path, |x| musicnn.try_forward(x).expect("musicnn").taggram);
        assert!(
            max_diff(&stored.tag_means, &teacher) > 1e-3,
            "musicnn ran, not the student"
        );
    }

    // A config that points outside its folder is refused with the reason.
    let cfg_path = emotion.join("config.json");
    let mut bad = cfg.clone();
    bad["patch_net"] = "../student.safetensors".into();
    // A new version, so the tracks are pending and the engine loads the model.
    bad["version"] = "emotion-test-bad".into();
    std::fs::write(&cfg_path, serde_json::to_vec(&bad).expect("json")).expect("write");
    let o = run(d, &["--db", db_s, "analyze", "--jobs", "1"], Some(&assets));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("patch_net"), "{err}");
}
