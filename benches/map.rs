//! The map at library scale (100,000 tracks, 95 % analysed, moods spread over the plane):
//!
//! - `map_frame/cold`: a whole frame after a pan or zoom: the plane, the points splatted
//!   into their raster, the overlay (a 12-track journey, the mood now), all rasterised by
//!   tiny-skia into a pixel buffer at the canvas's size in the 1280x800 window (856x680,
//!   scale 1), the way the window's compositor draws a frame (`Renderer::draw` into a
//!   reused buffer; only the copy to the screen is left out);
//! - `map_frame/overlay`: the same frame with the points cached (hover, a selection, a
//!   journey change);
//! - `map_frame/picture`: the cold frame as the session sheet's picture is made
//!   (`gui::map::draw_frame`: a new buffer and an RGBA copy each time);
//! - `map_points/raster`: the splatting alone;
//! - `map_points/build`: the points and their hit grid from the table's rows (after the
//!   library changed);
//! - `map_points/hit`: the track under the cursor (one query).
//!
//! `cargo bench --bench map` (`MAP_BENCH_TRACKS=N` for another size). Without `--bench` it
//! runs once over 5,000 tracks.

mod common;

use std::hint::black_box;

use common::synthetic_rows;
use criterion::{criterion_group, criterion_main, Criterion};
use iced::widget::canvas::Cache;
use iced::Size;
use valence::gui::map::{draw_frame, headless_renderer, queue_frame};
use valence::gui::theme;
use valence::gui::widgets::map_canvas::{
    rasterize, Coloring, DragMode, JourneyMark, MapCanvas, MapData, View,
};
use valence::mood::Quadrant;

const CANVAS: Size = Size::new(856.0, 680.0);

fn tracks() -> usize {
    let full = std::env::args().any(|a| a == "--bench");
    std::env::var("MAP_BENCH_TRACKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 100_000 } else { 5_000 })
}

fn journey() -> Vec<JourneyMark> {
    (0..12)
        .map(|i| {
            let t = i as f32 / 11.0;
            let mean = (-0.5 + t, -0.4 + 0.8 * t);
            JourneyMark {
                mean,
                start: (mean.0 - 0.05, mean.1 - 0.04),
                end: (mean.0 + 0.05, mean.1 + 0.04),
                quadrant: Quadrant::of_point(mean.0, mean.1),
                locked: i == 3,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = synthetic_rows(tracks());
    let data = MapData::from_rows(&rows);
    let marks = journey();
    let theme = theme::Mode::Dark.theme();
    let mut renderer = match headless_renderer() {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let cache = Cache::new();
    let program = |view: View| MapCanvas {
        data: &data,
        cache: &cache,
        view,
        mode: DragMode::Pan,
        selected: rows.get(10).map(|r| r.id),
        region: None,
        mood_now: Some((-0.3, -0.2)),
        picked: None,
        journey: &marks,
        ends: Some(((-0.5, -0.4), (0.5, 0.4))),
        check_ins: [None, None],
        picking: false,
        coloring: Coloring::Mood,
        on_event: |_| (),
    };
    let mut g = c.benchmark_group("map_frame");
    g.sample_size(30);
    let (w, h) = (CANVAS.width as u32, CANVAS.height as u32);
    let mut pixmap = match tiny_skia::Pixmap::new(w, h) {
        Some(p) => p,
        None => panic!("a {w}x{h} pixmap"),
    };
    let mut mask = match tiny_skia::Mask::new(w, h) {
        Some(m) => m,
        None => panic!("a {w}x{h} mask"),
    };
    let viewport =
        iced_tiny_skia::graphics::Viewport::with_physical_size(iced::Size::new(w, h), 1.0);
    let background = theme.palette().background;
    let whole = [iced::Rectangle::with_size(CANVAS)];
    let mut frame = |view: View, renderer: &mut iced::Renderer| {
        queue_frame(&program(view), renderer, &theme, CANVAS);
        renderer.draw(
            &mut pixmap.as_mut(),
            &mut mask,
            &viewport,
            &whole,
            background,
        );
    };
    let mut zoom = 1.0f32;
    let mut next_view = move || {
        // A different view each frame, as while zooming.
        zoom = if zoom > 3.0 { 1.0 } else { zoom * 1.05 };
        View {
            center: (0.1, 0.0),
            zoom,
        }
    };
    g.bench_function("cold", |b| {
        b.iter(|| {
            cache.clear();
            frame(next_view(), &mut renderer)
        })
    });
    g.bench_function("overlay", |b| {
        b.iter(|| frame(View::default(), &mut renderer))
    });
    g.bench_function("picture", |b| {
        b.iter(|| {
            cache.clear();
            black_box(draw_frame(
                &program(next_view()),
                &mut renderer,
                &theme,
                CANVAS,
                1.0,
            ))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("map_points");
    g.sample_size(30);
    g.bench_function("raster", |b| {
        b.iter(|| black_box(rasterize(&data, View::default(), CANVAS, &Coloring::Mood)))
    });
    // The same points coloured by 16 theme scenes (a colour looked up per point).
    let scened: Vec<_> = rows
        .iter()
        .map(|r| valence::library::BrowseRow {
            scene: Some(r.id % 16),
            gain: Default::default(),
            ..r.clone()
        })
        .collect();
    let scene_data = MapData::from_rows(&scened);
    let colors: std::collections::HashMap<i64, iced::Color> = (0..16)
        .map(|k| (k, theme::scene_color(k as usize)))
        .collect();
    let by_scene = Coloring::Scene(std::sync::Arc::new(colors));
    g.bench_function("raster_scenes", |b| {
        b.iter(|| black_box(rasterize(&scene_data, View::default(), CANVAS, &by_scene)))
    });
    g.bench_function("build", |b| b.iter(|| black_box(MapData::from_rows(&rows))));
    let mut k = 0usize;
    g.bench_function("hit", |b| {
        b.iter(|| {
            k = (k + 7919) % rows.len();
            let (v, a) = rows[k]
                .mood
                .map(|m| (m.valence + 0.003, m.arousal))
                .unwrap_or((0.0, 0.0));
            black_box(data.nearest(v, a, 0.02).map(|p| p.id))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
