#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/screenshots/*.png) from the real window.
#
#   tools/screenshots.sh [OUT_DIR]        (default: docs/screenshots)
#
# What it does, all in throw-away folders (nothing of yours is read or written):
#   1. builds `valence` and `examples/demo_library` (release; VALENCE_BIN=path skips the
#      build, VALENCE_DEMO_BIN=path names the demo writer, default beside VALENCE_BIN);
#   2. makes a temporary HOME whose ~/Music holds a dozen synthetic 30-s tracks (a melody,
#      a bass line, some with drums) synthesised with sox, in keys, tempi, timbres and
#      loudness meant to land in different moods, tagged (title/artist/album) and encoded to
#      MP3 by ffmpeg;
#   3. starts a virtual X display (xvfb-run, 1280x800, the window's size) and takes, with
#      ImageMagick's `import -window root`:
#        first-run-setup.png    the window on an empty library (the first-run screen,
#                               ~/Music suggested);
#        library-dark.png       the library after `valence scan` + `valence analyze`;
#        detail-dark.png        a track's detail pane (a click on a row);
#        mood-filter-light.png  the light theme, the most common mood's filter on, and the
#                               detail of one of its tracks;
#        mood-now-dark.png      after importing a short listening history: the mood card;
#        playlists-dark.png     a playlist of the most common mood on the Playlists tab;
#        history-dark.png       the History tab;
#        map-dark.png           the Map tab on a made-up library of 10,000 analysed tracks
#                               (`examples/demo_library.rs`), the mood now marked;
#        journey-dark.png       a 30-minute journey from the mood now to calm on it;
#        map-scenes-dark.png    the same map coloured by theme scene, with its legend;
#        scenes-dark.png        the Scenes tab (the scenes are fitted when the window opens).
#      Clicks go through xdotool at fixed positions of the 1280x800 layout (see below):
#      a change of the layout needs them moved.
#
# The other PNGs in docs/screenshots (analysis under way, no audio device, keyboard search)
# were taken by hand on real clips; this script leaves them alone.
#
# Needs: Xvfb + xvfb-run, xdotool, ImageMagick (`import`), sox, ffmpeg, python3, and libtorch
# (`libtorch-setup/setup.sh`; its env.sh is sourced when present). The emotion model comes
# from assets/models, as for `valence analyze`. Look at the PNGs before committing them:
# the moods of synthetic tones are whatever the model hears in them.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/docs/screenshots}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Re-run under a virtual display of exactly the window's size (no window manager: the
# window sits at 0,0 and `import -window root` is the window).
if [ -z "${VALENCE_SHOTS_DISPLAY:-}" ]; then
    for tool in xvfb-run xdotool import sox ffmpeg; do
        command -v "$tool" >/dev/null || { echo "screenshots: $tool is missing" >&2; exit 1; }
    done
    if [ -z "${VALENCE_BIN:-}" ]; then
        env_sh=${VALENCE_LIBTORCH:-$HOME/.cache/valence/libtorch}/env.sh
        # shellcheck disable=SC1090
        [ -f "$env_sh" ] && . "$env_sh"
        (cd "$repo" && cargo build --release --locked --bin valence --bin valence-engine --example demo_library)
        VALENCE_BIN=$repo/target/release/valence
        VALENCE_DEMO_BIN=$repo/target/release/examples/demo_library
    fi
    export VALENCE_BIN VALENCE_DEMO_BIN VALENCE_SHOTS_DISPLAY=1
    exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$out"
fi

bin=$VALENCE_BIN
demo=${VALENCE_DEMO_BIN:-$(dirname "$bin")/examples/demo_library}
work=$(mktemp -d -t valence-shots.XXXXXX)
app_pid=
cleanup() {
    [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export HOME=$work/home
export VALENCE_DB=$HOME/library.sqlite3
unset XDG_MUSIC_DIR XDG_CONFIG_HOME XDG_DATA_HOME
music=$HOME/Music
mkdir -p "$music"

rate=44100

# seq FILE WAVE NOTE_SECS COUNT ROOT_SEMITONES SCALE_STEPS... : a seeded random walk over
# the scale (semitones relative to A4), one sox `synth` per note chained with ':'.
seq_notes() {
    local file=$1 wave=$2 len=$3 count=$4 root=$5
    shift 5
    local steps=("$@") n=${#@} deg=$((n)) args=() i
    for ((i = 0; i < count; i++)); do
        deg=$((deg + RANDOM % 5 - 2))
        ((deg < 0)) && deg=0
        ((deg > 2 * n)) && deg=$((2 * n))
        local semi=$((root + 12 * (deg / n) + steps[deg % n]))
        [ "$i" -gt 0 ] && args+=(:)
        args+=(synth "$len" "$wave" "%$semi")
    done
    sox -V1 -n -r "$rate" -c 1 "$file" "${args[@]}"
}

# drums FILE BEAT_SECS SECS: a noise hit on every beat.
drums() {
    local file=$1 beat=$2 secs=$3
    local hits
    hits=$(awk -v s="$secs" -v b="$beat" 'BEGIN { printf "%d", s / b - 1 }')
    sox -V1 -n -r "$rate" -c 1 "$work/hit.wav" synth 0.05 brownnoise fade 0 0.05 0.045 \
        pad 0 "$(awk -v b="$beat" 'BEGIN { print b - 0.05 }')"
    sox -V1 "$work/hit.wav" "$file" repeat "$hits"
}

# track N "TITLE" "ARTIST" "ALBUM" WAVE NOTE_SECS ROOT MODE GAIN_DB EFFECTS DRUM_BEAT
track() {
    local n=$1 title=$2 artist=$3 album=$4 wave=$5 len=$6 root=$7 mode=$8 gain=$9
    local effects=${10} beat=${11} secs=30
    local scale
    if [ "$mode" = major ]; then scale=(0 2 4 5 7 9 11); else scale=(0 2 3 5 7 8 10); fi
    local count
    count=$(awk -v s="$secs" -v l="$len" 'BEGIN { printf "%d", s / l }')
    RANDOM=$((n * 7919))
    seq_notes "$work/lead.wav" "$wave" "$len" "$count" "$root" "${scale[@]}"
    # A bass line an octave and a half down, four times slower.
    local blen
    blen=$(awk -v l="$len" 'BEGIN { print l * 4 }')
    seq_notes "$work/bass.wav" triangle "$blen" $((count / 4)) $((root - 19)) "${scale[@]}"
    local parts=("$work/lead.wav" "$work/bass.wav")
    if [ "$beat" != 0 ]; then
        drums "$work/drums.wav" "$beat" "$secs"
        parts+=("$work/drums.wav")
    fi
    # shellcheck disable=SC2086 # EFFECTS is a list of sox effects
    sox -V1 -m "${parts[@]}" -c 2 "$work/mix.wav" trim 0 "$secs" gain -10 $effects norm "$gain"
    ffmpeg -nostdin -hide_banner -loglevel error -y -i "$work/mix.wav" \
        -c:a libmp3lame -b:a 128k -metadata title="$title" -metadata artist="$artist" \
        -metadata album="$album" -metadata track="$n" \
        "$music/$(printf %02d "$n") $title.mp3"
}

echo "screenshots: synthesising the music folder"
# Titles say nothing of the mood: the model decides that. The parameters spread the tracks
# over the four quadrants (seen with emotion-2; another model may place them elsewhere).
#     n  title           artist            album         wave      note  root mode  dB  effects                   beat
track 1  "Lanterns"      "The Paper Kites" "Daylight"    pluck     0.15  3    major -1  "overdrive 5 reverb 20"   0.3
track 2  "Parallax"      "The Paper Kites" "Daylight"    square    0.12  5    major -2  "reverb 10"               0.24
track 3  "Copper Wire"   "Black Iron"      "Pressure"    sawtooth  0.1   -10  minor -1  "overdrive 30 tremolo 8 60" 0.2
track 4  "Halftone"      "Black Iron"      "Pressure"    square    0.08  -9   minor -1  "overdrive 20"            0.16
track 5  "November"      "Lena Marsh"      "Small Hours" sine      1.2   -14  minor -14 "reverb 80"               0
track 6  "Empty Rooms"   "Lena Marsh"      "Small Hours" triangle  0.9   -17  minor -16 "reverb 90 lowpass 1200"  0
track 7  "Tideline"      "Harbour Lights"  "Tides"       sine      0.8   -2   major -14 "reverb 70"               0
track 8  "Orchard"       "Harbour Lights"  "Tides"       triangle  0.6   0    major -12 "reverb 60 lowpass 3000"  0
track 9  "Meridian"      "Coastline"       "Open Road"   pluck     0.2   2    major -3  "reverb 30"               0.4
track 10 "Signal Path"   "Coastline"       "Open Road"   sawtooth  0.25  -7   minor -6  "lowpass 2000 reverb 40"  0.5
track 11 "Afterimage"    "Ada Quill"       "Letters"     pluck     0.5   -5   major -10 "reverb 50"               0
track 12 "Low Orbit"     "Ada Quill"       "Letters"     square    0.1   -12  minor -2  "overdrive 25 reverb 20"  0.2

# Waits for the window, then for `secs` more (loading, drawing).
wait_window() {
    local wid
    wid=$(timeout 60 xdotool search --sync --onlyvisible --name '^Valence$' | head -n 1)
    [ -n "$wid" ] || { echo "screenshots: the window did not open" >&2; exit 1; }
    sleep "$1"
    echo "$wid"
}

start_window() {
    "$bin" >"$work/window.log" 2>&1 &
    app_pid=$!
}

stop_window() {
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
    app_pid=
}

shot() {
    import -window root "$out/$1"
    echo "screenshots: $out/$1"
}

# 1. First run: an empty library asks for folders, suggesting ~/Music.
start_window
wait_window 2 >/dev/null
shot first-run-setup.png
stop_window

# 2. Scan and analyse from the command line, then the library.
echo "screenshots: scanning and analysing"
"$bin" scan "$music"
"$bin" analyze
start_window
wid=$(wait_window 3)
shot library-dark.png

# The window's layout at 1280x800 with no strip or banner under the title bar (the analysis
# is done): where xdotool clicks.
theme_button=(1217 21)
chip_y=65
# The chips as laid out while a detail pane is open (step 3 leaves one open).
chip_x=([1]=280 [2]=362 [3]=438 [4]=511) # Q1 Happy, Q2 Tense, Q3 Sad, Q4 Calm
row_y() { echo $((138 + 30 * ($1 - 1))); }

# 3. A click on the third row opens its detail.
xdotool mousemove --window "$wid" 300 "$(row_y 3)" click 1
# Away from the rows, so no hover highlight.
xdotool mousemove --window "$wid" 640 795
sleep 2
shot detail-dark.png

# 4. Light theme, with the filter of the most common mood on and one of its tracks open.
common=$(for id in $("$bin" list | awk '{ print $1 }'); do "$bin" show "$id"; done |
    sed -n 's/^ *mood: \(Q[1-4]\).*/\1/p' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
xdotool mousemove --window "$wid" "${theme_button[@]}" click 1
sleep 1
if [ -n "$common" ]; then
    xdotool mousemove --window "$wid" "${chip_x[${common#Q}]}" "$chip_y" click 1
    sleep 1
fi
# The detail of a track the filter shows.
xdotool mousemove --window "$wid" 300 "$(row_y 2)" click 1
xdotool mousemove --window "$wid" 640 795
sleep 2
shot mood-filter-light.png
stop_window

# 5. A listening history (imported, as a ListenBrainz export: this window has no sound card
#    to play through), a playlist of the most common mood, then the mood card, the
#    Playlists tab and the History tab.
now=$(date +%s)
"$bin" list --json | python3 -c '
import json, sys
now = int(sys.argv[1])
tracks = json.load(sys.stdin)
listens = []
# The first four tracks, played 4, 3, 2 and 1 times over the last two days.
for k, t in enumerate(tracks[:4]):
    for j in range(4 - k):
        listens.append({"listened_at": now - 3600 * (2 + 9 * j + k),
                        "track_metadata": {"artist_name": t["artist"], "track_name": t["title"]}})
json.dump(listens, sys.stdout)
' "$now" >"$work/listens.json"
"$bin" history import "$work/listens.json"
# As many as the library has (the command says which rule stops a longer one).
[ -n "$common" ] && { "$bin" playlist new --mood "$common" --count 8 --seed 1 ||
    "$bin" playlist new --mood "$common" --count 3 --seed 1 || true; }
start_window
wid=$(wait_window 3)
xdotool mousemove --window "$wid" 640 795
sleep 1
shot mood-now-dark.png
tab_y=22
tab_x=([1]=146 [2]=210 [3]=273 [4]=355 [5]=447) # Library, Map, Scenes, Playlists, History
xdotool mousemove --window "$wid" "${tab_x[4]}" "$tab_y" click 1
sleep 1
# The playlist, first in the list on the left.
xdotool mousemove --window "$wid" 140 100 click 1
xdotool mousemove --window "$wid" 640 795
sleep 2
shot playlists-dark.png
xdotool mousemove --window "$wid" "${tab_x[5]}" "$tab_y" click 1
xdotool mousemove --window "$wid" 640 795
sleep 2
shot history-dark.png
stop_window

# 6. The map of a made-up analysed library of 10,000 tracks (`examples/demo_library.rs`:
#    moods in clusters, a few plays for the mood now), then a 30-minute journey from the
#    mood now to calm, a track hovered.
VALENCE_DB=$work/demo.sqlite3
"$demo" "$VALENCE_DB" 10000 40
export VALENCE_DB
start_window
wid=$(wait_window 4)
xdotool mousemove --window "$wid" "${tab_x[2]}" "$tab_y" click 1
xdotool mousemove --window "$wid" 640 795
sleep 2
shot map-dark.png
# "Plan journey" in the panel on the right.
xdotool mousemove --window "$wid" 946 323 click 1
sleep 4
xdotool mousemove --window "$wid" 640 795
sleep 1
shot journey-dark.png
# The theme scenes, fitted in the background when the window opened: the map coloured by
# scene ("Scene" in the map's toolbar), then the Scenes tab.
xdotool mousemove --window "$wid" 545 69 click 1
xdotool mousemove --window "$wid" 640 795
sleep 3
shot map-scenes-dark.png
xdotool mousemove --window "$wid" "${tab_x[3]}" "$tab_y" click 1
xdotool mousemove --window "$wid" 640 795
sleep 3
shot scenes-dark.png
stop_window
echo "screenshots: done"
