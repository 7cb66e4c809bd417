#!/usr/bin/env bash
# Side by side: bliss-rs 0.13 (DSP features only, Symphonia decoding; `tools/bliss-bench`) and
# `valence analyze` (the emotion model and its timeline) on the same real music, in one run.
#
#   tools/bench-vs-bliss.sh                 # TRACKS=90 JOBS=2 STRIDE=3 FORMATS="mp3 flac"
#   STUDENT_MODEL=DIR tools/bench-vs-bliss.sh   # also a model trained on a distilled student
#   CORPUS_ONLY=1 tools/bench-vs-bliss.sh       # build and make the corpus, measure nothing
#
# STUDENT_MODEL: an emotion model folder from `valence train --patch-net STUDENT` (it holds
# the student and names it in config.json). Valence then also analyses each format's files
# into a second fresh database with that model in the shipped one's place (a copy of
# assets/models, through VALENCE_ASSETS), so one run prints bliss-rs, Valence with musicnn and
# Valence with the student side by side.
#
# The corpus: 4-minute tracks, each the concatenation of 8 consecutive 30-s clips of
# `../shared/data/4q-train` (manifest order), resampled to 44.1 kHz stereo and encoded as MP3
# (192 kb/s, LAME) and FLAC by ffmpeg. It is made once under
# ~/.cache/valence/bench-vs-bliss/ (research data: never copied into the repository).
# TRACKS=90 uses all 720 clips (6 hours of music).
#
# Each program analyses each format's folder with JOBS worker threads at the same (normal)
# priority; Valence into a fresh database (`valence scan` first, not timed). Wall time and
# peak RSS are measured around each process (python's getrusage of the child). Printed: a
# Markdown table (x realtime = seconds of audio / wall seconds) and the ratio Valence / bliss,
# with the load average before each run.
#
# Needs: ffmpeg, python3, cargo, libtorch (`libtorch-setup/setup.sh`; its env.sh is sourced
# when present), and the 4q-train data (VALENCE_4Q=DIR to point elsewhere).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${VALENCE_4Q:-$repo/../shared/data/4q-train}
tracks=${TRACKS:-90}
jobs=${JOBS:-2}
stride=${STRIDE:-3}
formats=${FORMATS:-mp3 flac}
corpus=${XDG_CACHE_HOME:-$HOME/.cache}/valence/bench-vs-bliss
env_sh=${VALENCE_LIBTORCH:-$HOME/.cache/valence/libtorch}/env.sh

for tool in ffmpeg python3 cargo; do
    command -v "$tool" >/dev/null || { echo "bench-vs-bliss: $tool is missing" >&2; exit 1; }
done
[ -f "$data/manifest.csv" ] || { echo "bench-vs-bliss: no $data/manifest.csv (set VALENCE_4Q)" >&2; exit 1; }
# shellcheck disable=SC1090
[ -f "$env_sh" ] && . "$env_sh"

echo "bench-vs-bliss: building valence and tools/bliss-bench (release)" >&2
(cd "$repo" && cargo build --release --locked --bin valence --bin valence-engine)
cargo build --release --locked --manifest-path "$repo/tools/bliss-bench/Cargo.toml"
valence=$repo/target/release/valence
bliss=$repo/tools/bliss-bench/target/release/bliss-bench

# The corpus, made once (a track is written under a temporary name, then renamed).
mapfile -t clips < <(tail -n +2 "$data/manifest.csv" | cut -d, -f1)
if [ $((tracks * 8)) -gt "${#clips[@]}" ]; then
    echo "bench-vs-bliss: $tracks tracks need $((tracks * 8)) clips; there are ${#clips[@]}" >&2
    exit 1
fi
for fmt in $formats; do
    mkdir -p "$corpus/$fmt"
    case $fmt in
        mp3) codec=(-c:a libmp3lame -b:a 192k) ;;
        flac) codec=(-c:a flac) ;;
        *) echo "bench-vs-bliss: unknown format $fmt" >&2; exit 1 ;;
    esac
    made=0
    for ((t = 0; t < tracks; t++)); do
        out=$corpus/$fmt/$(printf 'track%03d' "$t").$fmt
        [ -s "$out" ] && continue
        inputs=()
        for ((k = 0; k < 8; k++)); do
            inputs+=(-i "$data/${clips[t * 8 + k]}")
        done
        ffmpeg -nostdin -hide_banner -loglevel error -y "${inputs[@]}" \
            -filter_complex "concat=n=8:v=0:a=1,aresample=44100,aformat=channel_layouts=stereo" \
            "${codec[@]}" "$out.part.$fmt"
        mv "$out.part.$fmt" "$out"
        made=$((made + 1))
    done
    [ "$made" -gt 0 ] && echo "bench-vs-bliss: encoded $made $fmt tracks" >&2
done

# CORPUS_ONLY=1: stop here (the programs built and the corpus made, nothing measured).
[ -n "${CORPUS_ONLY:-}" ] && exit 0

# Runs a command; prints {"wall": s, "rss_mb": peak of the child, "out": its stdout}.
measure() {
    python3 - "$@" <<'PY'
import json, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
wall = time.monotonic() - t
if p.returncode != 0:
    sys.exit(f"bench-vs-bliss: {sys.argv[1]} failed ({p.returncode})")
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "rss_mb": r.ru_maxrss / 1024, "cpu": r.ru_utime + r.ru_stime,
                  "out": p.stdout.decode(errors="replace")}))
PY
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
student_assets=
if [ -n "${STUDENT_MODEL:-}" ]; then
    [ -f "$STUDENT_MODEL/config.json" ] || { echo "bench-vs-bliss: no $STUDENT_MODEL/config.json" >&2; exit 1; }
    grep -q '"patch_net"' "$STUDENT_MODEL/config.json" \
        || { echo "bench-vs-bliss: $STUDENT_MODEL names no student (patch_net)" >&2; exit 1; }
    student_assets=$work/assets
    mkdir -p "$student_assets"
    cp -r "$repo/assets/models" "$student_assets/models"
    rm -rf "$student_assets/models/emotion"
    cp -r "$STUDENT_MODEL" "$student_assets/models/emotion"
fi
results=()
for fmt in $formats; do
    files=("$corpus/$fmt"/track*."$fmt")
    files=("${files[@]:0:$tracks}")
    # Seconds of audio, by ffprobe (bliss-rs 0.13 reports no duration with Symphonia).
    audio=$(for f in "${files[@]}"; do
        ffprobe -v error -show_entries format=duration -of csv=p=0 "$f"
    done | awk '{s += $1} END {printf "%.3f", s}')
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "bench-vs-bliss: bliss-rs on ${#files[@]} $fmt tracks (load $load)" >&2
    b=$(measure "$bliss" --jobs "$jobs" "${files[@]}")
    db=$work/$fmt.sqlite3
    mkdir -p "$work/$fmt"
    for f in "${files[@]}"; do ln -s "$f" "$work/$fmt/"; done
    "$valence" --db "$db" scan "$work/$fmt" >/dev/null
    load2=$(cut -d' ' -f1 /proc/loadavg)
    echo "bench-vs-bliss: valence analyze on the same tracks (load $load2)" >&2
    v=$(measure "$valence" --db "$db" analyze --jobs "$jobs" --stride "$stride" --nice 0 --json)
    s=null
    load3=null
    if [ -n "$student_assets" ]; then
        sdb=$work/$fmt-student.sqlite3
        "$valence" --db "$sdb" scan "$work/$fmt" >/dev/null
        load3=$(cut -d' ' -f1 /proc/loadavg)
        echo "bench-vs-bliss: valence analyze with the student model (load $load3)" >&2
        s=$(VALENCE_ASSETS=$student_assets measure "$valence" --db "$sdb" analyze \
            --jobs "$jobs" --stride "$stride" --nice 0 --json)
    fi
    results+=("$(printf '{"format": "%s", "audio": %s, "load_bliss": %s, "load_valence": %s, "load_student": %s, "bliss": %s, "valence": %s, "student": %s}' \
        "$fmt" "$audio" "$load" "$load2" "$load3" "$b" "$v" "$s")")
done

python3 - "$jobs" "$stride" "${results[@]}" <<'PY'
import json, sys
jobs, stride = sys.argv[1], int(sys.argv[2])
splits = []
print(f"\n| format | program | tracks | audio | wall | x realtime | peak RSS | load before |")
print("|---|---|---|---|---|---|---|---|")
for raw in sys.argv[3:]:
    r = json.loads(raw)
    b = json.loads(r["bliss"]["out"])
    audio = r["audio"]
    xb = audio / r["bliss"]["wall"]
    h = audio / 3600
    print(f"| {r['format']} | bliss-rs 0.13 (Symphonia) | {b['analysed']} ok, {b['failed']} failed "
          f"| {h:.2f} h | {r['bliss']['wall']:.1f} s | {xb:.0f}x | {r['bliss']['rss_mb']:.0f} MB "
          f"| {r['load_bliss']} |")
    runs = [("valence", f"valence analyze, stride {stride} (a point every {3 * stride} s)",
             "load_valence")]
    if r["student"] is not None:
        runs.append(("student", f"valence analyze, stride {stride}, student model", "load_student"))
    for key, name, load in runs:
        v = json.loads(r[key]["out"])
        xv = audio / r[key]["wall"]
        done, failed = v["progress"]["done"], v["progress"]["failed"]
        print(f"| {r['format']} | {name} | {done - failed} ok, {failed} failed | {h:.2f} h "
              f"| {r[key]['wall']:.1f} s | {xv:.0f}x | {r[key]['rss_mb']:.0f} MB | {r[load]} |")
        print(f"| {r['format']} | **ratio ({key}) / bliss** | | | | **{xv / xb:.2f}** | | |")
        st = v["stages"]
        total = sum(st.values()) or 1.0
        splits.append(f"{r['format']} ({key}): " + ", ".join(
            f"{k} {100 * t / total:.0f} %" for k, t in st.items()))
print(f"\n{jobs} worker threads each; x realtime = seconds of audio (ffprobe) / wall seconds.")
print("Where Valence's worker time goes: " + "; ".join(splits))
PY
