#!/usr/bin/env python3
"""Writes the golden files for tests/features_golden.rs (Valence `features` module).

Run through tests/reference/regen.sh (creates the venv with librosa if missing).

Every signal is synthesised here deterministically, cast to float32 and STORED in the
golden file, so the Rust test reads exactly the same samples (no re-synthesis mismatch).
Only the click tracks (tempo test) are re-synthesised in Rust from their parameters: the
tempo check is against the true tempo, not against librosa's numbers.

File format (.vgf, "Valence golden features"): b"VGF1", u32 LE header length, UTF-8 JSON
header {"params": {...}, "arrays": {name: {"offset": elements, "shape": [...]}}}, then all
arrays as little-endian float32, concatenated (offsets count float32 elements from the
start of the data block).

References are computed in float64 from the float32 samples (the Rust general features
run in f64), except the musicnn representation, which follows musicnn's own float32 path
(with the float16 cast replaced by float32).
"""
import json
import os
import struct
import sys

import librosa
import numpy as np
import scipy.linalg
import scipy.signal

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "features")
SR = 22050


def write(name, params, arrays):
    header = {"params": params, "arrays": {}}
    blobs = []
    off = 0
    for k, v in arrays.items():
        a = np.ascontiguousarray(np.asarray(v, dtype="<f4"))
        header["arrays"][k] = {"offset": off, "shape": list(a.shape)}
        blobs.append(a.tobytes())
        off += a.size
    h = json.dumps(header, sort_keys=True).encode()
    path = os.path.join(OUT, name + ".vgf")
    with open(path, "wb") as f:
        f.write(b"VGF1")
        f.write(struct.pack("<I", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"{path}: {os.path.getsize(path)} bytes")


def f32(x):
    return np.asarray(x, dtype=np.float32)


def chirp(sr, dur, f0, f1):
    t = np.arange(int(round(sr * dur))) / sr
    return scipy.signal.chirp(t, f0=f0, t1=dur, f1=f1, method="logarithmic")


def sine(sr, dur, f, amp=1.0):
    t = np.arange(int(round(sr * dur))) / sr
    return amp * np.sin(2 * np.pi * f * t)


def mix_signal(sr, dur, seed):
    rng = np.random.default_rng(seed)
    n = int(round(sr * dur))
    t = np.arange(n) / sr
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t)  # some amplitude modulation
    y = 0.5 * chirp(sr, dur, 100.0, 8000.0) * env + sine(sr, dur, 440.0, 0.3)
    y += 0.05 * rng.standard_normal(n)
    return f32(y)


def chord_signal(sr, dur):
    y = sum(sine(sr, dur, f, 0.3) for f in (261.6256, 329.6276, 391.9954))
    return f32(y)


def click_track(sr, dur, bpm):
    """Must match click_track() in tests/features_golden.rs."""
    n = int(round(sr * dur))
    y = np.zeros(n)
    period = 60.0 / bpm
    clen = int(0.02 * sr)
    k = np.arange(clen)
    click = np.sin(2 * np.pi * 1000.0 * k / sr) * np.exp(-k / (0.004 * sr))
    i = 0
    while True:
        s = int(round(i * period * sr))
        if s >= n:
            break
        e = min(n, s + clen)
        y[s:e] += click[: e - s]
        i += 1
    return f32(0.8 * y)


def main():
    os.makedirs(OUT, exist_ok=True)
    versions = {"librosa": librosa.__version__, "numpy": np.__version__}
    print(versions)

    # ---- STFT power spectrograms -------------------------------------------------------
    mix = mix_signal(SR, 1.0, 1234)
    y = mix.astype(np.float64)
    arrays = {"signal": mix}
    configs = [
        ("hann", 2048, 512, 22050),
        ("hamming", 1024, 256, 5512),
        ("blackmanharris", 512, 128, 5512),
        ("hann", 511, 100, 5512),
    ]
    params = {"sr": SR, "configs": [], "versions": versions}
    for i, (win, n_fft, hop, n) in enumerate(configs):
        S = np.abs(librosa.stft(y[:n], n_fft=n_fft, hop_length=hop, window=win, center=True,
                                pad_mode="constant")) ** 2
        arrays[f"power{i}"] = S.T  # [frame][bin]
        params["configs"].append({"window": win, "n_fft": n_fft, "hop": hop, "n": n})
    write("stft_power", params, arrays)

    # ---- mel filterbanks -----------------------------------------------------------------
    fbs = [
        dict(sr=16000, n_fft=512, n_mels=96, fmin=0.0, fmax=None, htk=False, norm="slaney"),
        dict(sr=22050, n_fft=1024, n_mels=40, fmin=50.0, fmax=8000.0, htk=True, norm=None),
        dict(sr=22050, n_fft=1024, n_mels=64, fmin=0.0, fmax=None, htk=True, norm="slaney"),
    ]
    arrays = {}
    for i, c in enumerate(fbs):
        arrays[f"fb{i}"] = librosa.filters.mel(sr=c["sr"], n_fft=c["n_fft"], n_mels=c["n_mels"],
                                               fmin=c["fmin"], fmax=c["fmax"], htk=c["htk"],
                                               norm=c["norm"], dtype=np.float64)
    write("mel_filterbank", {"configs": fbs}, arrays)

    # ---- mel spectrogram, log-mel (dB), MFCC, chroma on a C-major chord -------------------
    chord = chord_signal(SR, 1.0)
    yc = chord.astype(np.float64)
    mel = librosa.feature.melspectrogram(y=yc, sr=SR, n_fft=2048, hop_length=512, n_mels=128,
                                         dtype=np.float64)
    logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    mfcc = librosa.feature.mfcc(y=yc, sr=SR, n_mfcc=20, dtype=np.float64)
    chroma = librosa.feature.chroma_stft(y=yc, sr=SR, n_fft=2048, hop_length=512, tuning=0.0)
    a440 = f32(sine(SR, 0.5, 440.0, 0.5))
    chroma_a = librosa.feature.chroma_stft(y=a440.astype(np.float64), sr=SR, tuning=0.0)
    chroma_fb = librosa.filters.chroma(sr=SR, n_fft=2048, tuning=0.0)
    write("mel_mfcc_chroma", {"sr": SR, "n_fft": 2048, "hop": 512, "n_mels": 128, "n_mfcc": 20},
          {"signal": chord, "mel": mel.T, "logmel_db": logmel.T, "mfcc": mfcc.T,
           "chroma": chroma.T, "a440": a440, "chroma_a440": chroma_a.T,
           "chroma_fb": chroma_fb})

    # ---- spectral features on the mix ---------------------------------------------------
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    cent = librosa.feature.spectral_centroid(S=S, sr=SR)[0]
    bw = librosa.feature.spectral_bandwidth(S=S, sr=SR)[0]
    roll = librosa.feature.spectral_rolloff(S=S, sr=SR, roll_percent=0.85)[0]
    flat = librosa.feature.spectral_flatness(S=S)[0]
    con6 = librosa.feature.spectral_contrast(S=S, sr=SR)  # n_bands 6
    con5 = librosa.feature.spectral_contrast(S=S, sr=SR, n_bands=5)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)[0]
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=512, dtype=np.float64)[0]
    onset = librosa.onset.onset_strength(y=y, sr=SR, n_fft=2048, hop_length=512)
    # spectral flux, Valence's definition (librosa has none): L1-normalised magnitudes,
    # Euclidean distance between consecutive frames, first frame 0.
    tot = S.sum(axis=0, keepdims=True)
    N = S / np.where(tot > np.finfo(np.float64).tiny, tot, 1.0)
    flux = np.concatenate([[0.0], np.sqrt(((N[:, 1:] - N[:, :-1]) ** 2).sum(axis=0))])
    write("spectral", {"sr": SR, "n_fft": 2048, "hop": 512},
          {"signal": mix, "centroid": cent, "bandwidth": bw, "rolloff": roll, "flatness": flat,
           "contrast6": con6.T, "contrast5": con5.T, "zcr": zcr, "rms": rms, "onset": onset,
           "flux": flux})

    # ---- musicnn input representation ---------------------------------------------------
    sr16 = 16000
    rng = np.random.default_rng(99)
    n16 = 4 * sr16
    t = np.arange(n16) / sr16
    ym = (0.6 * chirp(sr16, 4.0, 50.0, 7000.0) + chord_signal(sr16, 4.0).astype(np.float64)
          + 0.1 * rng.standard_normal(n16)) * (0.7 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    ym = f32(ym)
    # musicnn extractor.batch_data, float32 instead of float16 before the log:
    audio_rep = librosa.feature.melspectrogram(y=ym, sr=sr16, hop_length=256, n_fft=512,
                                               n_mels=96).T
    audio_rep = audio_rep.astype(np.float32)
    audio_rep = np.log10(10000 * audio_rep + 1)
    assert audio_rep.dtype == np.float32
    n_frames = audio_rep.shape[0]
    n_patches = len(range(0, n_frames - 187 + 1, 187))
    write("musicnn_logmel", {"sr": sr16, "n_frames": n_frames, "n_patches_hop187": n_patches,
                             "max_mel_power": float(np.max(10 ** audio_rep - 1) / 10000)},
          {"signal": ym, "logmel": audio_rep})

    # ---- tempo on click tracks (signals re-synthesised in Rust) --------------------------
    tempos = []
    for bpm in (90.0, 120.0, 140.0):
        yk = click_track(SR, 12.0, bpm).astype(np.float64)
        lt = float(librosa.feature.tempo(y=yk, sr=SR)[0])
        tempos.append({"bpm": bpm, "librosa_tempo": lt})
    write("tempo", {"sr": SR, "duration_s": 12.0, "tracks": tempos}, {})

    # ---- LPC residual phase --------------------------------------------------------------
    rng = np.random.default_rng(7)
    n = 2048
    exc = np.zeros(n)
    exc[::160] = 1.0  # pulse train (voiced excitation)
    exc += 0.01 * rng.standard_normal(n)
    yl = scipy.signal.lfilter([1.0], [1.0, -1.3, 0.8, -0.1], exc)
    yl = f32(0.3 * yl / np.max(np.abs(yl)))
    x = yl.astype(np.float64)
    p = 12
    r = np.array([np.dot(x[: n - k], x[k:]) for k in range(p + 1)])
    a = scipy.linalg.solve_toeplitz(r[:p], r[1 : p + 1])
    e = scipy.signal.lfilter(np.concatenate([[1.0], -a]), [1.0], x)
    ea = scipy.signal.hilbert(e)
    rp = e / np.abs(ea)
    write("lpc_rp", {"order": p}, {"signal": yl, "lpc": a, "residual": e, "rp": rp})


if __name__ == "__main__":
    sys.exit(main())
