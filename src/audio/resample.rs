//! Streaming mono sample-rate conversion with rubato's FFT resampler.

use rubato::{FftFixedIn, Resampler};

use super::AudioError;

/// Input chunk size: large enough for FFT efficiency, small enough to stream.
const CHUNK: usize = 2048;

/// Converts a mono stream from one rate to another, in pieces, with the resampler's delay
/// removed so output sample `k` lines up with input time `k / out_rate`.
pub struct MonoResampler {
    inner: FftFixedIn<f32>,
    pending: Vec<f32>,
    in_rate: u32,
    out_rate: u32,
    frames_in: u64,
    frames_out: u64,
    to_skip: usize,
    out_buf: Vec<Vec<f32>>,
}

impl MonoResampler {
    pub fn new(in_rate: u32, out_rate: u32) -> Result<Self, AudioError> {
        let inner = FftFixedIn::<f32>::new(in_rate as usize, out_rate as usize, CHUNK, 2, 1)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let to_skip = inner.output_delay();
        let out_buf = vec![vec![0.0; inner.output_frames_max()]];
        Ok(Self {
            inner,
            pending: Vec::with_capacity(CHUNK * 2),
            in_rate,
            out_rate,
            frames_in: 0,
            frames_out: 0,
            to_skip,
            out_buf,
        })
    }

    /// Feed input samples; converted samples are appended to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.frames_in += input.len() as u64;
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= self.inner.input_frames_next() {
            let need = self.inner.input_frames_next();
            let (_, n_out) = self
                .inner
                .process_into_buffer(
                    &[&self.pending[start..start + need]],
                    &mut self.out_buf,
                    None,
                )
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            start += need;
            self.emit(n_out, out);
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Flush the tail: after this the output holds exactly round(n_in * out / in) samples.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let expected = (self.frames_in as u128 * self.out_rate as u128 + self.in_rate as u128 / 2)
            / self.in_rate as u128;
        let expected = expected as u64;
        let pending = std::mem::take(&mut self.pending);
        // rubato treats an empty input slice as an inactive channel and errors: pass None.
        let mut first = Some(pending).filter(|p| !p.is_empty());
        // A few partial calls push the delayed samples out of the filter.
        let mut guard = 0;
        while self.frames_out < expected && guard < 64 {
            let input = first.take();
            let (_, n_out) = match &input {
                Some(p) => self.inner.process_partial_into_buffer(
                    Some(&[p.as_slice()]),
                    &mut self.out_buf,
                    None,
                ),
                None => self.inner.process_partial_into_buffer(
                    None::<&[&[f32]]>,
                    &mut self.out_buf,
                    None,
                ),
            }
            .map_err(|e| AudioError::Resample(e.to_string()))?;
            let room = (expected - self.frames_out) as usize;
            self.emit(n_out.min(room + self.to_skip), out);
            guard += 1;
        }
        Ok(())
    }

    fn emit(&mut self, n_out: usize, out: &mut Vec<f32>) {
        let produced = &self.out_buf[0][..n_out];
        let skip = self.to_skip.min(produced.len());
        self.to_skip -= skip;
        out.extend_from_slice(&produced[skip..]);
        self.frames_out += (produced.len() - skip) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_chunk_multiple_and_empty_input_finish_cleanly() {
        for n in [0usize, 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 17] {
            let mut r = MonoResampler::new(22050, 16000).unwrap();
            let mut out = Vec::new();
            r.push(&vec![0.25; n], &mut out).unwrap();
            r.finish(&mut out).unwrap();
            let expected = (n as f64 * 16000.0 / 22050.0).round() as usize;
            assert_eq!(out.len(), expected, "n = {n}");
        }
    }
}
