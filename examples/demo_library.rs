//! Writes a made-up, already analysed library (no audio files) for screenshots and trying
//! the map: `cargo run --release --example demo_library -- DB [TRACKS] [PLAYS]`
//! (default 10,000 tracks, 40 plays). Its moods are current for this build's emotion model,
//! so the window shows them; see `valence::library::demo`.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let db = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: demo_library DB [TRACKS] [PLAYS]"))?,
    );
    let tracks = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let plays = args.next().map(|s| s.parse()).transpose()?.unwrap_or(40);
    let v = valence::analysis::default_version()?;
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    valence::library::demo::write_demo_library(&db, tracks, plays, 7, &v, &cal)?;
    println!("{tracks} tracks written to {}", db.display());
    Ok(())
}
