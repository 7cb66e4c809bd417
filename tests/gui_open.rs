//! "Open with Valence": files given to the window (as a file manager does, `valence FILE...`)
//! join the library and play in the order given; files that cannot be played are said.

mod common;

use common::window::run;
use valence::audio::player::{AudioOutput, OutputError};
use valence::gui::App;

fn virtual_output() -> Result<AudioOutput, OutputError> {
    AudioOutput::open_virtual(1.0)
}

#[test]
fn opened_files_join_the_library_and_play_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let music = dir.path().join("Downloads");
    std::fs::create_dir_all(&music).expect("mkdir");
    let a = music.join("first.wav");
    common::write_song(&a, 4.0, 1);
    let src = dir.path().join("src.wav");
    common::write_song(&src, 4.0, 2);
    let b = music.join("second.flac");
    common::encode(&src, &b, &["-c:a", "flac"], None);
    let bad = music.join("broken.mp3");
    std::fs::write(&bad, vec![0x42u8; 2048]).expect("write");
    // A file beside them that was not opened stays out of the library.
    common::write_song(&music.join("other.wav"), 2.0, 3);
    let gone = music.join("gone.ogg");

    let (mut app, boot) = App::with_db(dir.path().join("lib.sqlite3"), virtual_output);
    run(&mut app, boot);
    assert!(app.library.rows().is_empty());
    let open = app.open_files(vec![b.clone(), gone, a.clone(), bad]);
    run(&mut app, open);

    let titles: Vec<&str> = app
        .library
        .rows()
        .iter()
        .map(|r| r.title.as_str())
        .collect();
    assert_eq!(titles.len(), 2, "only the opened files joined: {titles:?}");
    let current = app.player.current().expect("playing");
    assert_eq!(
        current.path,
        b.canonicalize().expect("path"),
        "the first file given plays"
    );
    assert!(app.player.is_playing());
    let queue: Vec<_> = app.player.queue().iter().map(|q| q.path.clone()).collect();
    assert_eq!(
        queue,
        vec![
            b.canonicalize().expect("path"),
            a.canonicalize().expect("path")
        ]
    );
    let notice = app.notice().expect("a notice");
    assert!(
        notice.contains("gone.ogg") && notice.contains("no such file"),
        "{notice}"
    );
    assert!(notice.contains("broken.mp3"), "{notice}");
    // They were analysed too, like any file added to the library.
    assert!(
        app.library.rows().iter().all(|r| r.mood.is_some()),
        "analysed"
    );
}

#[test]
fn without_a_display_the_window_says_so_instead_of_crashing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_valence"))
        .arg("--db")
        .arg(dir.path().join("lib.sqlite3"))
        .arg(dir.path().join("song.wav"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .expect("run valence");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no display"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
