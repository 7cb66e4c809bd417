//! The audio output for the GUI: one rodio `Player` on the default device, fed by
//! [`StreamSource`] (our decoder), so playback and analysis hear the same samples.
//!
//! The device sink (cpal stream) stays on a thread of its own: it is not `Send` on every
//! platform, and the UI only needs the `Player` handle, which is.
//!
//! Gapless: the next track is queued behind the current one ([`AudioOutput::enqueue`]), so
//! the device goes from the last sample of one to the first of the next with nothing
//! between (the decoder trims MP3/AAC encoder delay and padding).

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::{GainHandle, StreamSource};

/// Samples an output without a device played, kept for tests ([`AudioOutput::open_capture`]).
pub type Captured = Arc<Mutex<Vec<f32>>>;

/// Why audio cannot be played. Strings, so the message can travel to the window as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    #[error("no audio output: {0}")]
    Device(String),
    #[error("cannot play {path}: {reason}")]
    File { path: String, reason: String },
    #[error("cannot seek: {0}")]
    Seek(String),
}

/// An open audio output. Dropping it closes the device.
pub struct AudioOutput {
    player: rodio::Player,
    // Dropping the sender ends the thread that holds the device sink.
    _keep: mpsc::Sender<()>,
    /// The device's last stream error (unplugged, taken by another program), set by the
    /// audio thread and read by the window ([`AudioOutput::fault`]).
    fault: Arc<Mutex<Option<String>>>,
    /// The gains of the playing track and of the one queued behind it.
    gains: Mutex<(Option<GainHandle>, Option<GainHandle>)>,
}

impl std::fmt::Debug for AudioOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioOutput").finish_non_exhaustive()
    }
}

impl AudioOutput {
    /// Opens the default output device. On a machine without one (a server, a container)
    /// this returns the reason instead of panicking.
    pub fn open_default() -> Result<Self, OutputError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (keep_tx, keep_rx) = mpsc::channel::<()>();
        let fault: Arc<Mutex<Option<String>>> = Arc::default();
        let on_error = {
            let fault = fault.clone();
            move |e: rodio::cpal::Error| {
                if let Ok(mut f) = fault.lock() {
                    *f = Some(e.to_string());
                }
            }
        };
        std::thread::Builder::new()
            .name("valence-audio".into())
            .spawn(move || {
                // The default device with our error callback; failing that, rodio's search
                // through the other devices and configurations (errors then go to stderr).
                let sink = rodio::DeviceSinkBuilder::from_default_device()
                    .and_then(|b| b.with_error_callback(on_error).open_stream())
                    .or_else(|_| rodio::DeviceSinkBuilder::open_default_sink());
                match sink {
                    Ok(mut sink) => {
                        sink.log_on_drop(false);
                        let player = rodio::Player::connect_new(sink.mixer());
                        if ready_tx.send(Ok(player)).is_ok() {
                            // Hold the device until the output is dropped.
                            let _ = keep_rx.recv();
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(OutputError::Device(e.to_string())));
                    }
                }
            })
            .map_err(|e| OutputError::Device(e.to_string()))?;
        let player = ready_rx
            .recv()
            .map_err(|_| OutputError::Device("audio thread stopped".into()))??;
        Ok(Self {
            player,
            _keep: keep_tx,
            fault,
            gains: Mutex::default(),
        })
    }

    /// The device's stream error since the last call, if any: the device went away or
    /// failed. Playback cannot go on on this output; open a new one.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().ok().and_then(|mut f| f.take())
    }

    /// Reports a stream error as the device would (tests: a device that disappears).
    #[doc(hidden)]
    pub fn inject_fault(&self, message: &str) {
        if let Ok(mut f) = self.fault.lock() {
            *f = Some(message.to_string());
        }
    }

    /// An output with no device behind it: a thread consumes the audio `speed` times
    /// faster than real time and throws it away. Position, end of track and seeking behave
    /// as on a device, so the window's player and its play history can be tested (and run
    /// headless) on machines without sound.
    pub fn open_virtual(speed: f32) -> Result<Self, OutputError> {
        Self::open_virtual_inner(speed, None)
    }

    /// A virtual output ([`AudioOutput::open_virtual`]) that keeps every sample it plays,
    /// interleaved, for tests to inspect (gapless seams, gain).
    pub fn open_capture(speed: f32) -> Result<(Self, Captured), OutputError> {
        let captured = Captured::default();
        Ok((
            Self::open_virtual_inner(speed, Some(captured.clone()))?,
            captured,
        ))
    }

    fn open_virtual_inner(speed: f32, capture: Option<Captured>) -> Result<Self, OutputError> {
        use rodio::Source;
        let (player, mut output) = rodio::Player::new();
        let (keep_tx, keep_rx) = mpsc::channel::<()>();
        let speed = if speed.is_finite() {
            speed.clamp(0.01, 1000.0)
        } else {
            1.0
        };
        std::thread::Builder::new()
            .name("valence-virtual-audio".into())
            .spawn(move || {
                const TICK: Duration = Duration::from_millis(5);
                // Until the output is dropped (the sender hangs up).
                while let Err(mpsc::RecvTimeoutError::Timeout) = keep_rx.recv_timeout(TICK) {
                    let rate =
                        f64::from(output.sample_rate().get()) * f64::from(output.channels().get());
                    let samples = (rate * TICK.as_secs_f64() * f64::from(speed)) as usize;
                    let mut kept = capture.as_ref().and_then(|c| c.lock().ok());
                    for _ in 0..samples.max(1) {
                        let Some(s) = output.next() else { break };
                        if let Some(k) = kept.as_mut() {
                            k.push(s);
                        }
                    }
                }
            })
            .map_err(|e| OutputError::Device(e.to_string()))?;
        Ok(Self {
            player,
            _keep: keep_tx,
            fault: Arc::default(),
            gains: Mutex::default(),
        })
    }

    fn open_source(path: &Path, gain: f32) -> Result<(StreamSource, GainHandle), OutputError> {
        let source = StreamSource::open(path).map_err(|e| OutputError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let handle = source.gain();
        handle.set(gain);
        Ok((source, handle))
    }

    /// Replaces whatever plays with `path`, from the start, at `gain` (linear ReplayGain
    /// factor), and plays it.
    pub fn play_file(&self, path: &Path, gain: f32) -> Result<(), OutputError> {
        let (source, handle) = Self::open_source(path, gain)?;
        self.player.clear();
        self.player.append(source);
        self.player.play();
        if let Ok(mut g) = self.gains.lock() {
            *g = (Some(handle), None);
        }
        Ok(())
    }

    /// Queues `path` to start the moment the playing track ends, with no gap. One track is
    /// queued at a time: the window calls this again after [`AudioOutput::advance`].
    pub fn enqueue(&self, path: &Path, gain: f32) -> Result<(), OutputError> {
        let (source, handle) = Self::open_source(path, gain)?;
        self.player.append(source);
        if let Ok(mut g) = self.gains.lock() {
            g.1 = Some(handle);
        }
        Ok(())
    }

    /// Tracks in the output: 2 while one is queued behind the playing one, 1 while the last
    /// one plays, 0 when idle. A drop from 2 to 1 means the queued track has started.
    pub fn queued(&self) -> usize {
        self.player.len()
    }

    /// The queued track has started ([`AudioOutput::queued`] dropped): its gain becomes
    /// the current one.
    pub fn advance(&self) {
        if let Ok(mut g) = self.gains.lock() {
            *g = (g.1.take(), None);
        }
    }

    /// Changes the gains of the playing and the queued track (a new ReplayGain mode).
    pub fn set_gains(&self, current: f32, next: f32) {
        if let Ok(g) = self.gains.lock() {
            if let Some(h) = &g.0 {
                h.set(current);
            }
            if let Some(h) = &g.1 {
                h.set(next);
            }
        }
    }

    pub fn pause(&self) {
        self.player.pause();
    }

    pub fn resume(&self) {
        self.player.play();
    }

    pub fn is_paused(&self) -> bool {
        self.player.is_paused()
    }

    /// Nothing left to play (the track ended or none was started).
    pub fn is_idle(&self) -> bool {
        self.player.empty()
    }

    pub fn position(&self) -> Duration {
        self.player.get_pos()
    }

    pub fn seek(&self, to: Duration) -> Result<(), OutputError> {
        self.player
            .try_seek(to)
            .map_err(|e| OutputError::Seek(e.to_string()))
    }

    /// 0.0 ..= 1.0 (linear gain).
    pub fn set_volume(&self, volume: f32) {
        self.player.set_volume(volume.clamp(0.0, 1.0));
    }

    pub fn stop(&self) {
        self.player.stop();
    }
}
