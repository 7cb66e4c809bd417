#!/usr/bin/env bash
# A large, messy, synthetic library for the reliability run of issue 17 (point 5):
#
#   tools/big-library.sh DIR [FILES]      # default 2000 files
#
# 95 % good files, synthesised (chords with a pulse, each file its own pitch and tempo) and
# encoded by ffmpeg to WAV, MP3, FLAC, Ogg Vorbis and AAC/M4A, 3-8 s long, with unicode
# names in nested folders; a few huge ones (20-minute FLACs) and a few tiny ones (0.2 s).
# 5 % bad files: empty, text saved as audio, random bytes, truncated to their header, and a
# 64 MB file of noise named .flac. The list of bad files is written to DIR/BAD.txt.
#
# Then, for the run itself (the README's "Reliability" section):
#   valence --db DB scan DIR, the window on DB under Xvfb with VALENCE_TRACE_FRAMES=1 while
#   tools/big-library.sh --churn DIR deletes and rewrites files during the analysis.
set -euo pipefail

if [ "${1:-}" = "--churn" ]; then
    # Every second for ROUNDS seconds: delete one good file, rewrite another with new audio.
    dir=$2
    rounds=${ROUNDS:-30}
    mapfile -t files < <(find "$dir" -type f -name '*.wav' | sort)
    for ((i = 0; i < rounds && 2 * i + 1 < ${#files[@]}; i++)); do
        rm -f "${files[2 * i]}"
        echo "deleted ${files[2 * i]}"
        ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=frequency=$((300 + i)):duration=4" \
            -ac 2 -ar 44100 "${files[2 * i + 1]}.tmp.wav"
        mv "${files[2 * i + 1]}.tmp.wav" "${files[2 * i + 1]}"
        echo "rewrote ${files[2 * i + 1]}"
        sleep 1
    done
    exit 0
fi

dir=${1:?usage: tools/big-library.sh DIR [FILES]}
total=${2:-2000}
command -v ffmpeg >/dev/null || { echo "big-library: ffmpeg is missing" >&2; exit 1; }
mkdir -p "$dir"
bad=$((total / 20))
good=$((total - bad))
: > "$dir/BAD.txt"
exts=(wav mp3 flac ogg m4a)
codecs=("-c:a pcm_s16le" "-c:a libmp3lame -b:a 160k" "-c:a flac" "-c:a libvorbis -q:a 4" "-c:a aac -b:a 128k")
names=("Ünïcødé" "曲" "Sœur Ångström" "Песня" "Canción" "Ωmega" "Café del Mar" "Ελληνικά")

echo "big-library: $good good and $bad bad files into $dir" >&2
for ((i = 0; i < good; i++)); do
    k=$((i % 5))
    folder="$dir/${names[$((i / 5 % 8))]} $((i / 50))"
    mkdir -p "$folder"
    secs=$((3 + i % 6))
    # A few huge (20 minutes) and a few tiny (0.2 s).
    if [ $((i % 400)) = 7 ]; then secs=1200; k=2; fi
    if [ $((i % 400)) = 11 ]; then secs=0.2; fi
    f1=$((110 + (i * 7) % 330))
    pulse=$((1 + i % 5))
    out="$folder/${names[$((i % 8))]} $i.${exts[$k]}"
    # shellcheck disable=SC2086
    ffmpeg -nostdin -loglevel error -y -f lavfi \
        -i "aevalsrc=(0.6+0.4*sin(2*PI*$pulse*t))*(0.3*sin(2*PI*$f1*t)+0.2*sin(2*PI*$f1*1.26*t)+0.2*sin(2*PI*$f1*1.5*t)):s=44100:d=$secs" \
        -ac 2 ${codecs[$k]} "$out"
done
for ((j = 0; j < bad; j++)); do
    folder="$dir/broken $((j / 25))"
    mkdir -p "$folder"
    case $((j % 5)) in
        0) out="$folder/empty $j.mp3"; : > "$out" ;;
        1) out="$folder/notes $j.flac"; printf 'not audio, just notes\n%.0s' {1..20} > "$out" ;;
        2) out="$folder/noise $j.ogg"; head -c 200000 /dev/urandom > "$out" ;;
        3) out="$folder/header only $j.wav"
           ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=frequency=440:duration=1" "$out.tmp.wav"
           head -c 44 "$out.tmp.wav" > "$out"; rm "$out.tmp.wav" ;;
        4) if [ "$j" = 4 ]; then
               out="$folder/huge noise $j.flac"; head -c 64000000 /dev/urandom > "$out"
           else
               out="$folder/random $j.m4a"; head -c 5000 /dev/urandom > "$out"
           fi ;;
    esac
    echo "$out" >> "$dir/BAD.txt"
done
echo "big-library: done ($(du -sh "$dir" | cut -f1))" >&2
