//! How long the window takes to show up, for the start-up target (issue 16: a 100,000-track
//! library on screen within 1 s of the process starting). With `VALENCE_TRACE_STARTUP` set,
//! the first frame and the first frame with the library loaded each print, once, how long
//! after the process started (the kernel's start time, so the dynamic loader's work counts)
//! they were drawn.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// 0: nothing printed yet; 1: the first frame printed; 2: the library's printed too.
static SEEN: AtomicU8 = AtomicU8::new(0);

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("VALENCE_TRACE_STARTUP").is_some())
}

/// Called at each `view`: `library` is the number of tracks once the library is loaded.
pub fn frame(library: Option<usize>) {
    if !enabled() {
        return;
    }
    let seen = SEEN.load(Ordering::Relaxed);
    if seen == 0 {
        SEEN.store(1, Ordering::Relaxed);
        report("first frame", None);
    }
    if let (Some(n), true) = (library, seen < 2) {
        SEEN.store(2, Ordering::Relaxed);
        report("library shown", Some(n));
    }
}

fn report(what: &str, tracks: Option<usize>) {
    let since = since_start().map_or("?".into(), |s| format!("{s:.2} s"));
    let tracks = tracks.map_or(String::new(), |n| format!(" ({n} tracks)"));
    eprintln!("valence: startup: {what}{tracks} {since} after the process started");
}

/// Seconds since this process started, from /proc (10 ms resolution).
fn since_start() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 22 (start time, clock ticks after boot); the command name before it may hold
    // spaces, so count from its closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    let ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (hz > 0.0).then(|| uptime - ticks / hz)
}
