//! Background analysis of the library: decode -> features -> musicnn (batched across
//! tracks) -> emotion model -> one database transaction per track.
//!
//! Cost design: musicnn is ~2.4 GFLOP per 3-s patch, so the engine analyses one patch in
//! `stride` (default 3: a timeline point per ~9 s) while the timeline and thumbnail still
//! cover the whole track; see the README's throughput section for what that costs.

mod engine;
pub(crate) use engine::panic_text;
pub mod prepare;
pub mod remote;
pub mod route;
pub mod sanity;

pub use engine::{
    default_calibration, default_version, timeline, version_for, Control, Engine, EngineError,
    EngineOptions, Progress, StageTimes, Summary, TrackError, TrackOutcome, DEFAULT_STRIDE,
    PIPELINE_VERSION, TOP_TAGS,
};
pub use prepare::{PatchPlan, PrepareError, Prepared, Preparer};

/// CPU seconds used by the calling thread: stage timings that do not count time spent
/// waiting for a core (wall time would, with more workers than cores).
pub(crate) fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into a valid timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
