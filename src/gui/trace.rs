//! Timings of the window, for the targets of issues 16 and 17, printed to stderr when asked:
//!
//! - `VALENCE_TRACE_STARTUP`: the first frame and the first frame with the library loaded
//!   each print, once, how long after the process started (the kernel's start time, so the
//!   dynamic loader's work counts) they were drawn (a 100,000-track library within 1 s).
//! - `VALENCE_TRACE_FRAMES`: the window asks for a frame every 16 ms (a tick that makes it
//!   update, lay out and draw) and every 10 s prints the intervals between frames: median,
//!   99th percentile and worst. While nothing blocks the UI thread they stay near 16.7 ms; a
//!   stall shows as a long interval (responsiveness during an analysis).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

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

/// Whether frame tracing is on (`VALENCE_TRACE_FRAMES`).
pub fn frames_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("VALENCE_TRACE_FRAMES").is_some())
}

/// The interval at which the traced window asks for frames.
pub const FRAME_TICK: Duration = Duration::from_millis(16);

struct Frames {
    last: Option<Instant>,
    since: Instant,
    intervals_ms: Vec<f64>,
}

/// One traced frame tick, handled on the UI thread.
pub fn tick() {
    static FRAMES: Mutex<Option<Frames>> = Mutex::new(None);
    let now = Instant::now();
    let Ok(mut guard) = FRAMES.lock() else {
        return;
    };
    let f = guard.get_or_insert_with(|| Frames {
        last: None,
        since: now,
        intervals_ms: Vec::new(),
    });
    if let Some(last) = f.last {
        f.intervals_ms.push((now - last).as_secs_f64() * 1000.0);
    }
    f.last = Some(now);
    if now - f.since >= Duration::from_secs(10) && !f.intervals_ms.is_empty() {
        let v = &mut f.intervals_ms;
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        eprintln!(
            "valence: frames: {} in {:.1} s; interval median {:.1} ms, p99 {:.1} ms, worst {:.1} ms",
            v.len(),
            (now - f.since).as_secs_f64(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
        v.clear();
        f.since = now;
    }
}
