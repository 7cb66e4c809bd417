//! WAV files with the header damage other players read through, and MP4 files cut short
//! (issue 17; see [`mp4_repairs`] for the latter).
//!
//! Streaming writers often leave the RIFF and `data` lengths as they were when the header
//! was first written: 0, 0xFFFFFFFF, or the 36 of an empty file, so the `RIFF` chunk seems to
//! end before its `data` chunk does. Symphonia 0.6 refuses such a file ("riff: chunk length
//! exceeds parent (list) chunk length"); ffmpeg, VLC and the other players play the audio
//! to the end of the file. A `LIST` chunk whose entries do not fit in it fails the same way.
//!
//! [`riff_repairs`] reads only the chunk headers (at most [`MAX_CHUNKS`]) and lists
//! corrections; [`Repaired`] is the file with them laid over it, handed to Symphonia
//! instead of the file. The corrections:
//! - the `RIFF` length becomes the file's length minus 8;
//! - a `data` length of 0 or 0xFFFFFFFF, or one that runs past the end of the file, becomes
//!   the bytes left in the file (the audio runs to the end, as players read it);
//! - a `LIST` chunk whose entries overrun it is renamed `JUNK`, which readers skip: its tags
//!   are lost, the audio plays;
//! - an odd-sized chunk written without its pad byte (the next header starts right after
//!   it, and one byte later there is none) gets a zero byte inserted after it, so every
//!   later header is where readers look for it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// Chunk headers read before giving up looking for `data` (untrusted input).
pub const MAX_CHUNKS: usize = 256;

/// The most channels a WAV file may declare (its channel mask names 18 speakers; 64 leaves
/// room for multitrack recorders).
pub const MAX_CHANNELS: u16 = 64;

/// One correction, at the file's own offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fix {
    /// A zero byte shown before the file's byte at this offset (a missing pad byte).
    Pad(u64),
    /// These 4 bytes shown instead of the file's at this offset.
    Replace(u64, [u8; 4]),
}

impl Fix {
    /// Where it applies; at one offset a pad comes before a replacement.
    fn key(&self) -> (u64, u8) {
        match *self {
            Fix::Pad(at) => (at, 0),
            Fix::Replace(at, _) => (at, 1),
        }
    }
}

fn read_at(f: &mut File, at: u64, buf: &mut [u8]) -> io::Result<()> {
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

fn u32_at(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The corrections an MP4 (ISO BMFF) file of `len` bytes needs: a truncated file (a copy or
/// a download cut short) ends inside its last `mdat`, whose declared size then runs past the
/// end. Symphonia skips such an atom whole, losing every sample in it (all of them, when the
/// file is one fragment or `moov` comes first); ffmpeg plays up to the cut. The size becomes
/// what is left of the file, so the samples that are there are read and the rest ends the
/// stream. Reads only the top-level atom headers (at most [`MAX_CHUNKS`]). Leaves the file's
/// position at 0.
pub(crate) fn mp4_repairs(f: &mut File, len: u64) -> io::Result<Vec<Fix>> {
    let mut fixes = Vec::new();
    let mut head = [0u8; 16];
    if len < 16 || read_at(f, 0, &mut head).is_err() || &head[4..8] != b"ftyp" {
        f.seek(SeekFrom::Start(0))?;
        return Ok(fixes);
    }
    let mut at = 0u64;
    for _ in 0..MAX_CHUNKS {
        if at + 8 > len || read_at(f, at, &mut head[..8]).is_err() {
            break;
        }
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = [head[4], head[5], head[6], head[7]];
        let (size, large) = match size32 {
            // To the end of the file: nothing can run past it.
            0 => break,
            1 => {
                if at + 16 > len || read_at(f, at + 8, &mut head[8..16]).is_err() {
                    break;
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&head[8..16]);
                (u64::from_be_bytes(b), true)
            }
            n => (u64::from(n), false),
        };
        if size < 8 {
            break;
        }
        if at.saturating_add(size) > len {
            if &kind == b"mdat" {
                let left = len - at;
                if large {
                    let b = left.to_be_bytes();
                    fixes.push(Fix::Replace(at + 8, [b[0], b[1], b[2], b[3]]));
                    fixes.push(Fix::Replace(at + 12, [b[4], b[5], b[6], b[7]]));
                } else {
                    // `left` < the declared 32-bit size, so it fits.
                    let left = u32::try_from(left).unwrap_or(u32::MAX);
                    fixes.push(Fix::Replace(at, left.to_be_bytes()));
                }
            }
            break;
        }
        at += size;
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(fixes)
}

/// The corrections a RIFF/WAVE file of `len` bytes needs (none for any other file, or a
/// sound one). Leaves the file's position at 0.
pub(crate) fn riff_repairs(f: &mut File, len: u64) -> io::Result<Vec<Fix>> {
    let mut fixes = Vec::new();
    let mut head = [0u8; 12];
    if len < 12
        || read_at(f, 0, &mut head).is_err()
        || &head[0..4] != b"RIFF"
        || &head[8..12] != b"WAVE"
    {
        f.seek(SeekFrom::Start(0))?;
        return Ok(fixes);
    }
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let mut inserted = 0u64;
    let mut pos = 12u64;
    for _ in 0..MAX_CHUNKS {
        let mut h = [0u8; 8];
        if pos + 8 > len || read_at(f, pos, &mut h).is_err() {
            break;
        }
        let (id, clen) = (&h[0..4], u64::from(u32_at(&h[4..8])));
        let left = len - pos - 8;
        if id == b"data" {
            // An empty `data` chunk that another chunk follows is a sound empty file.
            let empty = clen == 0 && is_chunk_header(f, pos + 8, len)?;
            if !empty && (clen == 0 || clen == u64::from(u32::MAX) || clen > left) {
                fixes.push(Fix::Replace(pos + 4, clamp(left).to_le_bytes()));
            }
            break;
        }
        if clen > left {
            // A chunk before the audio that runs past the end: nothing sensible to keep.
            break;
        }
        if id == b"fmt " && clen >= 16 {
            // Symphonia 0.6 computes `channels * bytes per sample` in a u16 and panics on
            // overflow in checked builds (found by tests/fuzz.rs); no real file has more
            // channels than a WAVE channel mask names.
            let mut fmt = [0u8; 4];
            read_at(f, pos + 8, &mut fmt)?;
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            if channels == 0 || channels > MAX_CHANNELS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the WAV header declares {channels} channels (a damaged header?)"),
                ));
            }
        }
        if id == b"LIST" && !list_fits(f, pos + 8, clen)? {
            fixes.push(Fix::Replace(pos, *b"JUNK"));
        }
        let end = pos + 8 + clen;
        pos =
            if clen & 1 == 1 && is_chunk_header(f, end, len)? && !is_chunk_header(f, end + 1, len)?
            {
                fixes.push(Fix::Pad(end));
                inserted += 1;
                end
            } else {
                end + (clen & 1)
            };
    }
    let riff_len = u64::from(u32_at(&head[4..8]));
    if riff_len != len + inserted - 8 {
        fixes.push(Fix::Replace(4, clamp(len + inserted - 8).to_le_bytes()));
    }
    fixes.sort_by_key(Fix::key);
    f.seek(SeekFrom::Start(0))?;
    Ok(fixes)
}

/// Whether the 8 bytes at `at` read as a chunk header: a tag of ASCII letters, digits or
/// spaces and a length that fits in the file.
fn is_chunk_header(f: &mut File, at: u64, len: u64) -> io::Result<bool> {
    let mut h = [0u8; 8];
    if at + 8 > len {
        return Ok(false);
    }
    read_at(f, at, &mut h)?;
    let tag_ok = h[..4]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b' ');
    Ok(tag_ok && u64::from(u32_at(&h[4..8])) <= len - at - 8)
}

/// Whether the entries of the LIST chunk whose body (`len` bytes) starts at `body` fit in it.
fn list_fits(f: &mut File, body: u64, len: u64) -> io::Result<bool> {
    if len < 4 {
        return Ok(len == 0);
    }
    let end = body + len;
    let mut pos = body + 4;
    for _ in 0..MAX_CHUNKS {
        if pos + 8 > end {
            return Ok(true);
        }
        let mut h = [0u8; 8];
        read_at(f, pos, &mut h)?;
        let clen = u64::from(u32_at(&h[4..8]));
        if clen > end - pos - 8 {
            return Ok(false);
        }
        pos += 8 + clen + (clen & 1);
    }
    Ok(true)
}

/// A stretch of what [`Repaired`] shows: a range of the file, or bytes of its own.
enum Seg {
    File { at: u64, len: u64 },
    Bytes(Vec<u8>),
}

impl Seg {
    fn len(&self) -> u64 {
        match self {
            Seg::File { len, .. } => *len,
            Seg::Bytes(b) => b.len() as u64,
        }
    }
}

/// A file with [`riff_repairs`] laid over it: the file's bytes in stretches, with the
/// corrections between them.
pub(crate) struct Repaired {
    file: File,
    /// (where it starts in what is shown, the stretch), in order.
    segs: Vec<(u64, Seg)>,
    len: u64,
    pos: u64,
}

impl Repaired {
    /// `fixes` sorted by offset, as [`riff_repairs`] gives them, over a file of `len` bytes.
    pub(crate) fn new(file: File, len: u64, fixes: &[Fix]) -> Self {
        let mut segs: Vec<Seg> = Vec::new();
        let mut cur = 0u64;
        let file_part = |segs: &mut Vec<Seg>, cur: u64, to: u64| {
            if to > cur {
                segs.push(Seg::File {
                    at: cur,
                    len: to - cur,
                });
            }
        };
        for fix in fixes {
            match *fix {
                Fix::Pad(at) if at >= cur && at <= len => {
                    file_part(&mut segs, cur, at);
                    segs.push(Seg::Bytes(vec![0]));
                    cur = at;
                }
                Fix::Replace(at, bytes) if at >= cur && at + 4 <= len => {
                    file_part(&mut segs, cur, at);
                    segs.push(Seg::Bytes(bytes.to_vec()));
                    cur = at + 4;
                }
                // Out of order or past the end: not applied (riff_repairs gives none).
                _ => {}
            }
        }
        file_part(&mut segs, cur, len);
        let mut start = 0u64;
        let segs: Vec<(u64, Seg)> = segs
            .into_iter()
            .map(|seg| {
                let at = start;
                start += seg.len();
                (at, seg)
            })
            .collect();
        Self {
            file,
            segs,
            len: start,
            pos: 0,
        }
    }
}

impl Read for Repaired {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The stretch holding `pos` (the last one starting at or before it).
        let k = self.segs.partition_point(|(start, _)| *start <= self.pos);
        let Some((start, seg)) = k.checked_sub(1).and_then(|k| self.segs.get(k)) else {
            return Ok(0);
        };
        let into = self.pos - start;
        if into >= seg.len() || buf.is_empty() {
            return Ok(0);
        }
        let want = (seg.len() - into).min(buf.len() as u64) as usize;
        let n = match seg {
            Seg::File { at, .. } => {
                self.file.seek(SeekFrom::Start(at + into))?;
                self.file.read(&mut buf[..want])?
            }
            Seg::Bytes(b) => {
                buf[..want].copy_from_slice(&b[into as usize..into as usize + want]);
                want
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Repaired {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

impl MediaSource for Repaired {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{decode_mono, write_wav_pcm16};

    /// A 3-s 440 Hz stereo tone as a canonical 16-bit WAV file's bytes.
    fn tone(dir: &std::path::Path) -> Vec<u8> {
        let rate = 22_050u32;
        let samples: Vec<i16> = (0..rate * 3)
            .flat_map(|i| {
                let v = ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0)
                    as i16;
                [v, v]
            })
            .collect();
        let p = dir.join("tone.wav");
        write_wav_pcm16(&p, &samples, rate, 2).expect("write");
        std::fs::read(&p).expect("read")
    }

    fn set_u32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn a_header_with_absurd_channels_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut wav = tone(dir.path());
        // The canonical header's channel count sits at byte 22.
        wav[22..24].copy_from_slice(&40_000u16.to_le_bytes());
        let p = dir.path().join("channels.wav");
        std::fs::write(&p, &wav).unwrap();
        let e = crate::library::read_tags(&p).unwrap_err().to_string();
        assert!(e.contains("declares 40000 channels"), "{e}");
        assert!(decode_mono(&p, Some(16_000), None).is_err());
    }

    /// A LIST/INFO chunk (an INAM entry of `name`) inserted before `data`, at byte 36;
    /// `overrun` makes the entry claim 100 bytes more than it has.
    fn with_list(wav: &[u8], name: &[u8], overrun: bool) -> Vec<u8> {
        let mut entry = b"INAM".to_vec();
        let n = name.len() as u32 + u32::from(overrun) * 100;
        entry.extend_from_slice(&n.to_le_bytes());
        entry.extend_from_slice(name);
        if name.len() % 2 == 1 {
            entry.push(0);
        }
        let mut list = b"LIST".to_vec();
        list.extend_from_slice(&(4 + entry.len() as u32).to_le_bytes());
        list.extend_from_slice(b"INFO");
        list.extend_from_slice(&entry);
        let mut out = wav[..36].to_vec();
        out.extend_from_slice(&list);
        out.extend_from_slice(&wav[36..]);
        let riff = out.len() as u32 - 8;
        set_u32(&mut out, 4, riff);
        out
    }

    #[test]
    fn damaged_wav_headers_decode_to_the_end_like_other_players() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sound = tone(dir.path());
        let full = {
            let p = dir.path().join("sound.wav");
            std::fs::write(&p, &sound).expect("write");
            decode_mono(&p, None, None)
                .expect("a sound file")
                .samples
                .len()
        };
        assert_eq!(full, 22_050 * 3);
        let data_len = (sound.len() - 44) as u32;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("RIFF length 36 (an empty file's)", {
                let mut b = sound.clone();
                set_u32(&mut b, 4, 36);
                b
            }),
            ("RIFF and data lengths 0", {
                let mut b = sound.clone();
                set_u32(&mut b, 4, 0);
                set_u32(&mut b, 40, 0);
                b
            }),
            ("RIFF and data lengths 0xFFFFFFFF", {
                let mut b = sound.clone();
                set_u32(&mut b, 4, u32::MAX);
                set_u32(&mut b, 40, u32::MAX);
                b
            }),
            ("data length past the end", {
                let mut b = sound.clone();
                set_u32(&mut b, 40, data_len + 10_000);
                b
            }),
            (
                "a LIST entry overrunning its chunk",
                with_list(&sound, b"Song", true),
            ),
            ("an odd-sized chunk without its pad byte", {
                let mut b = sound[..36].to_vec();
                b.extend_from_slice(b"abcd\x03\0\0\0xyz");
                b.extend_from_slice(&sound[36..]);
                let riff = b.len() as u32 - 8;
                set_u32(&mut b, 4, riff);
                b
            }),
        ];
        for (what, bytes) in cases {
            let p = dir.path().join("damaged.wav");
            std::fs::write(&p, &bytes).expect("write");
            let got = decode_mono(&p, None, None)
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .samples
                .len();
            assert_eq!(got, full, "{what}");
        }
        // An empty file (data length 0) with a LIST chunk after its data is not "repaired"
        // into noise.
        let empty = {
            let mut b = sound[..44].to_vec();
            set_u32(&mut b, 40, 0);
            b.extend_from_slice(b"LIST\x0c\0\0\0INFOINAM\0\0\0\0");
            let riff = b.len() as u32 - 8;
            set_u32(&mut b, 4, riff);
            b
        };
        let p = dir.path().join("empty.wav");
        std::fs::write(&p, &empty).expect("write");
        let mut f = File::open(&p).expect("open");
        assert!(riff_repairs(&mut f, empty.len() as u64)
            .expect("read")
            .is_empty());
        // A sound LIST chunk is left alone (no corrections), and so is a sound file.
        for bytes in [with_list(&sound, b"Song", false), sound.clone()] {
            let p = dir.path().join("sound-list.wav");
            std::fs::write(&p, &bytes).expect("write");
            let mut f = File::open(&p).expect("open");
            assert!(riff_repairs(&mut f, bytes.len() as u64)
                .expect("read")
                .is_empty());
            assert_eq!(
                decode_mono(&p, None, None).expect("decode").samples.len(),
                full
            );
        }
    }

    #[test]
    fn the_overlay_shows_corrections_wherever_a_read_starts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("bytes.bin");
        std::fs::write(&p, (0u8..64).collect::<Vec<_>>()).expect("write");
        let fixes = [Fix::Pad(4), Fix::Replace(10, *b"ABCD")];
        let mut r = Repaired::new(File::open(&p).expect("open"), 64, &fixes);
        assert_eq!(r.byte_len(), Some(65), "one byte inserted");
        let mut all = Vec::new();
        r.read_to_end(&mut all).expect("read");
        assert_eq!(&all[..6], &[0, 1, 2, 3, 0, 4]);
        // After the pad, every file byte is one later.
        assert_eq!(&all[9..17], &[8, 9, b'A', b'B', b'C', b'D', 14, 15]);
        assert_eq!(all.len(), 65);
        assert_eq!(all[64], 63);
        // A read that starts inside a correction, and seeks from the end.
        r.seek(SeekFrom::Start(13)).expect("seek");
        let mut three = [0u8; 3];
        r.read_exact(&mut three).expect("read");
        assert_eq!(&three, &[b'C', b'D', 14]);
        r.seek(SeekFrom::End(-1)).expect("seek");
        let mut last = [0u8; 1];
        r.read_exact(&mut last).expect("read");
        assert_eq!(last, [63]);
        assert!(r.seek(SeekFrom::Current(-100)).is_err());
    }
}
