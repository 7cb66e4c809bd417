//! The valence-arousal map: every analysed track as a point, pan and zoom, hover, click and
//! rectangle selection, and what lies on top (the mood now, a picked point, a selected
//! region, a journey with each track's arrow from its opening to its closing mood, the
//! session check-ins).
//!
//! **Drawing 100,000 points.** A path per point costs tiny-skia about 2 µs, 200 ms a frame.
//! Instead the points are splatted into a raster the size of the canvas: each point counts
//! itself into the pixels of a small disc; a pixel takes the colour (the quadrant's, or the
//! theme scene's, see [`Coloring`]) of the first point on it, in library order, so where
//! scenes overlap one colour shows rather than a muddy mean, and a pixel's opacity grows with the
//! number of points on it (`1 - (1 - ALPHA)^n`), so a lone point reads as a dot and a dense
//! region shades toward solid colour instead of becoming an unreadable blot. The raster and
//! the plane under it are cached (`canvas::Cache`) and redrawn only when the view or the
//! points change; hover, selection and journeys are a second, cheap layer.
//! `cargo bench --bench map` measures both at 100,000 points.

use std::collections::HashMap;
use std::sync::Arc;

use iced::mouse;
use iced::widget::canvas::{self, Cache, Frame, Geometry, Path, Stroke, Text};
use iced::widget::image;
use iced::{alignment, keyboard, Color, Point, Rectangle, Renderer, Size, Theme, Vector};

use crate::gui::theme;
use crate::library::BrowseRow;
use crate::mood::Quadrant;

/// Opacity one point gives a pixel.
const ALPHA: f32 = 0.55;
/// Opacity of the quadrants' tint.
const TINT: f32 = 0.07;
/// Pixels around the plane.
const MARGIN: f32 = 18.0;
/// A click within this many pixels of a point selects it.
const HIT_PX: f32 = 7.0;
/// A press that moves less than this is a click, not a drag.
const CLICK_SLOP: f32 = 4.0;
/// Zoom limits (1: the whole plane fits).
pub const MIN_ZOOM: f32 = 1.0;
pub const MAX_ZOOM: f32 = 64.0;
/// Cells per unit of the hit-test grid.
const GRID: usize = 64;

/// One track on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    pub id: i64,
    pub valence: f32,
    pub arousal: f32,
    pub quadrant: Quadrant,
    /// Its main theme scene, if any.
    pub scene: Option<i64>,
    pub title: String,
    pub artist: String,
}

/// How the points are coloured.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Coloring {
    /// By quadrant.
    #[default]
    Mood,
    /// By main theme scene (scene id to colour); tracks without one are grey.
    Scene(Arc<HashMap<i64, Color>>),
}

impl Coloring {
    pub fn color(&self, p: &MapPoint) -> Color {
        match self {
            Coloring::Mood => theme::quadrant_color(p.quadrant),
            Coloring::Scene(colors) => p
                .scene
                .and_then(|s| colors.get(&s).copied())
                .unwrap_or(theme::NO_SCENE),
        }
    }
}

/// The analysed tracks and a grid for finding the one under the cursor.
#[derive(Debug, Default)]
pub struct MapData {
    points: Vec<MapPoint>,
    /// Point indices by grid cell (`cells[c]..cells[c + 1]` in `order`).
    cells: Vec<u32>,
    order: Vec<u32>,
}

fn cell_of(v: f32, a: f32) -> (usize, usize) {
    let c = |x: f32| (((x.clamp(-1.0, 1.0) + 1.0) / 2.0 * GRID as f32) as usize).min(GRID - 1);
    (c(v), c(a))
}

impl MapData {
    /// The analysed rows (those without a mood are left out).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a BrowseRow>) -> Self {
        Self::new(
            rows.into_iter()
                .filter_map(|r| {
                    let m = r.mood?;
                    Some(MapPoint {
                        id: r.id,
                        valence: m.valence,
                        arousal: m.arousal,
                        quadrant: m.quadrant,
                        scene: r.scene,
                        title: r.title.clone(),
                        artist: r.artist.clone(),
                    })
                })
                .collect(),
        )
    }

    pub fn new(points: Vec<MapPoint>) -> Self {
        // Counting sort into cells: O(n), no per-cell vectors.
        let mut counts = vec![0u32; GRID * GRID + 1];
        let keys: Vec<usize> = points
            .iter()
            .map(|p| {
                let (x, y) = cell_of(p.valence, p.arousal);
                y * GRID + x
            })
            .collect();
        for &k in &keys {
            counts[k + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        let mut order = vec![0u32; points.len()];
        for (i, &k) in keys.iter().enumerate() {
            order[fill[k] as usize] = i as u32;
            fill[k] += 1;
        }
        Self {
            points,
            cells: counts,
            order,
        }
    }

    pub fn points(&self) -> &[MapPoint] {
        &self.points
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn point(&self, id: i64) -> Option<&MapPoint> {
        self.points.iter().find(|p| p.id == id)
    }

    /// The point nearest `(v, a)` within `radius` (plane units).
    pub fn nearest(&self, v: f32, a: f32, radius: f32) -> Option<&MapPoint> {
        let (x0, y0) = cell_of(v - radius, a - radius);
        let (x1, y1) = cell_of(v + radius, a + radius);
        let mut best: Option<(f32, &MapPoint)> = None;
        for y in y0..=y1 {
            for x in x0..=x1 {
                let c = y * GRID + x;
                for &i in &self.order[self.cells[c] as usize..self.cells[c + 1] as usize] {
                    let p = &self.points[i as usize];
                    let d = (p.valence - v).hypot(p.arousal - a);
                    if d <= radius && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, p));
                    }
                }
            }
        }
        best.map(|(_, p)| p)
    }

    /// The points inside `region`, in library order.
    pub fn inside(&self, region: Region) -> impl Iterator<Item = &MapPoint> {
        self.points
            .iter()
            .filter(move |p| region.contains(p.valence, p.arousal))
    }
}

/// A rectangle of the plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub valence: (f32, f32),
    pub arousal: (f32, f32),
}

impl Region {
    /// The rectangle with corners `p` and `q` (any order), clamped to the plane.
    pub fn spanning(p: (f32, f32), q: (f32, f32)) -> Self {
        let c = |x: f32| x.clamp(-1.0, 1.0);
        Self {
            valence: (c(p.0.min(q.0)), c(p.0.max(q.0))),
            arousal: (c(p.1.min(q.1)), c(p.1.max(q.1))),
        }
    }

    pub fn contains(&self, v: f32, a: f32) -> bool {
        (self.valence.0..=self.valence.1).contains(&v)
            && (self.arousal.0..=self.arousal.1).contains(&a)
    }
}

/// What part of the plane is shown: its centre and the zoom (1: all of it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub center: (f32, f32),
    pub zoom: f32,
}

impl Default for View {
    fn default() -> Self {
        Self {
            center: (0.0, 0.0),
            zoom: MIN_ZOOM,
        }
    }
}

impl View {
    /// Pixels per plane unit in `size`.
    fn scale(&self, size: Size) -> f32 {
        ((size.width.min(size.height) - 2.0 * MARGIN).max(10.0) / 2.0) * self.zoom
    }

    pub fn to_px(&self, size: Size, v: f32, a: f32) -> Point {
        let s = self.scale(size);
        Point::new(
            size.width / 2.0 + (v - self.center.0) * s,
            size.height / 2.0 - (a - self.center.1) * s,
        )
    }

    pub fn to_plane(&self, size: Size, p: Point) -> (f32, f32) {
        let s = self.scale(size);
        (
            self.center.0 + (p.x - size.width / 2.0) / s,
            self.center.1 - (p.y - size.height / 2.0) / s,
        )
    }

    /// The view moved so the plane point under `from` lies under `to`, kept on the plane.
    fn panned(&self, size: Size, from: Point, to: Point) -> Self {
        let s = self.scale(size);
        let c = (
            self.center.0 - (to.x - from.x) / s,
            self.center.1 + (to.y - from.y) / s,
        );
        Self {
            center: (c.0.clamp(-1.0, 1.0), c.1.clamp(-1.0, 1.0)),
            zoom: self.zoom,
        }
    }

    /// Zoomed by `factor` keeping the plane point under `at` in place.
    pub fn zoomed(&self, size: Size, at: Point, factor: f32) -> Self {
        let zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let (v, a) = self.to_plane(size, at);
        let mut out = Self {
            center: self.center,
            zoom,
        };
        // Keep (v, a) under the cursor: solve to_px(v, a) == at for the centre.
        let s = out.scale(size);
        out.center = (
            (v - (at.x - size.width / 2.0) / s).clamp(-1.0, 1.0),
            (a + (at.y - size.height / 2.0) / s).clamp(-1.0, 1.0),
        );
        if zoom <= MIN_ZOOM {
            out.center = (0.0, 0.0);
        }
        out
    }
}

/// A journey's asked start and target points.
pub type Ends = ((f32, f32), (f32, f32));

/// One track of a journey drawn on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyMark {
    pub mean: (f32, f32),
    pub start: (f32, f32),
    pub end: (f32, f32),
    pub quadrant: Quadrant,
    pub locked: bool,
}

/// What the map publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum MapEvent {
    /// A click on a track.
    Select(i64),
    /// A click on the plane away from any track.
    Pick(f32, f32),
    /// A rectangle dragged out (in select mode, or with Shift held).
    Region(Region),
    /// Panned or zoomed.
    View(View),
}

/// What a drag does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DragMode {
    #[default]
    Pan,
    Select,
}

/// The map canvas. `cache` holds the plane and the points; clear it when `view` or `data`
/// change.
pub struct MapCanvas<'a, M> {
    pub data: &'a MapData,
    pub cache: &'a Cache,
    pub view: View,
    pub mode: DragMode,
    pub selected: Option<i64>,
    pub region: Option<Region>,
    pub mood_now: Option<(f32, f32)>,
    pub picked: Option<(f32, f32)>,
    pub journey: &'a [JourneyMark],
    /// The journey's asked start and target.
    pub ends: Option<Ends>,
    /// Session check-ins: before, after.
    pub check_ins: [Option<(f32, f32)>; 2],
    /// A click marks a point even on a track (a check-in is being recorded).
    pub picking: bool,
    pub coloring: Coloring,
    pub on_event: fn(MapEvent) -> M,
}

/// The canvas's own state: the drag in progress, the hovered track, Shift.
#[derive(Debug, Default)]
pub struct Interaction {
    press: Option<Point>,
    drag: Option<(Point, View, bool)>,
    cursor: Option<Point>,
    hover: Option<i64>,
    shift: bool,
}

impl<M> MapCanvas<'_, M> {
    fn selecting(&self, state: &Interaction) -> bool {
        (self.mode == DragMode::Select) != state.shift
    }
}

impl<M: Clone> canvas::Program<M> for MapCanvas<'_, M> {
    type State = Interaction;

    fn update(
        &self,
        state: &mut Interaction,
        event: &iced::Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<canvas::Action<M>> {
        let size = bounds.size();
        let publish = |e| Some(canvas::Action::publish((self.on_event)(e)).and_capture());
        match event {
            iced::Event::Keyboard(keyboard::Event::ModifiersChanged(m)) => {
                state.shift = m.shift();
                None
            }
            iced::Event::Mouse(mouse::Event::CursorMoved { .. }) => {
                let Some(p) = cursor.position_in(bounds) else {
                    let had = state.hover.take().is_some() || state.cursor.take().is_some();
                    return had.then(canvas::Action::request_redraw);
                };
                state.cursor = Some(p);
                if let Some((from, view, selecting)) = state.drag {
                    if selecting {
                        return Some(canvas::Action::request_redraw());
                    }
                    return publish(MapEvent::View(view.panned(size, from, p)));
                }
                if let Some(press) = state.press {
                    if press.distance(p) > CLICK_SLOP {
                        state.drag = Some((press, self.view, self.selecting(state)));
                        state.hover = None;
                        return Some(canvas::Action::request_redraw());
                    }
                }
                let (v, a) = self.view.to_plane(size, p);
                let radius = HIT_PX / self.view.scale(size);
                let hover = self.data.nearest(v, a, radius).map(|p| p.id);
                if hover != state.hover {
                    state.hover = hover;
                }
                Some(canvas::Action::request_redraw())
            }
            iced::Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) => {
                let p = cursor.position_in(bounds)?;
                state.press = Some(p);
                Some(canvas::Action::capture())
            }
            iced::Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)) => {
                let press = state.press.take()?;
                let drag = state.drag.take();
                let p = cursor.position_in(bounds).or(state.cursor).unwrap_or(press);
                match drag {
                    Some((from, _, true)) => {
                        let r = Region::spanning(
                            self.view.to_plane(size, from),
                            self.view.to_plane(size, p),
                        );
                        publish(MapEvent::Region(r))
                    }
                    Some(_) => Some(canvas::Action::capture()),
                    None => {
                        let (v, a) = self.view.to_plane(size, p);
                        let radius = HIT_PX / self.view.scale(size);
                        let under = (!self.picking)
                            .then(|| self.data.nearest(v, a, radius))
                            .flatten();
                        match under {
                            Some(t) => publish(MapEvent::Select(t.id)),
                            None => publish(MapEvent::Pick(v.clamp(-1.0, 1.0), a.clamp(-1.0, 1.0))),
                        }
                    }
                }
            }
            iced::Event::Mouse(mouse::Event::WheelScrolled { delta }) => {
                let p = cursor.position_in(bounds)?;
                let lines = match delta {
                    mouse::ScrollDelta::Lines { y, .. } => *y,
                    mouse::ScrollDelta::Pixels { y, .. } => *y / 40.0,
                };
                if lines == 0.0 {
                    return None;
                }
                let view = self.view.zoomed(size, p, 1.25f32.powf(lines));
                publish(MapEvent::View(view))
            }
            _ => None,
        }
    }

    fn draw(
        &self,
        state: &Interaction,
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let base = self.cache.draw(renderer, bounds.size(), |frame| {
            // The points' raster carries the tints; without points the plane draws them.
            draw_plane(frame, theme, self.view, self.data.is_empty());
            draw_points(frame, self.data, self.view, &self.coloring);
        });
        let mut top = Frame::new(renderer, bounds.size());
        self.draw_overlay(&mut top, state, theme);
        vec![base, top.into_geometry()]
    }

    fn mouse_interaction(
        &self,
        state: &Interaction,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> mouse::Interaction {
        if !cursor.is_over(bounds) {
            return mouse::Interaction::default();
        }
        match state.drag {
            Some((_, _, true)) => mouse::Interaction::Crosshair,
            Some(_) => mouse::Interaction::Grabbing,
            None if self.picking => mouse::Interaction::Crosshair,
            None if state.hover.is_some() => mouse::Interaction::Pointer,
            None if self.selecting(state) => mouse::Interaction::Crosshair,
            None => mouse::Interaction::Grab,
        }
    }
}

impl<M> MapCanvas<'_, M> {
    fn draw_overlay(&self, frame: &mut Frame, state: &Interaction, theme: &Theme) {
        let size = frame.size();
        let view = self.view;
        let pal = theme.extended_palette();
        let ink = pal.background.base.text;
        let px = |(v, a): (f32, f32)| view.to_px(size, v, a);
        let outline = |c: Color| Stroke::default().with_color(c).with_width(2.0);

        if let Some(r) = self.region {
            let p = px((r.valence.0, r.arousal.1));
            let q = px((r.valence.1, r.arousal.0));
            let rect = Path::rectangle(p, Size::new(q.x - p.x, q.y - p.y));
            frame.fill(&rect, Color { a: 0.10, ..ink });
            frame.stroke(&rect, outline(ink));
        }
        if let (Some((from, _, true)), Some(to)) = (state.drag, state.cursor) {
            let rect = Path::rectangle(
                Point::new(from.x.min(to.x), from.y.min(to.y)),
                Size::new((to.x - from.x).abs(), (to.y - from.y).abs()),
            );
            frame.fill(&rect, Color { a: 0.08, ..ink });
            frame.stroke(&rect, outline(ink));
        }

        // The journey: the path through the tracks' means, and each track's arrow.
        if !self.journey.is_empty() {
            if let Some((s, t)) = self.ends {
                let dashed = Stroke {
                    line_dash: canvas::LineDash {
                        segments: &[4.0, 4.0],
                        offset: 0,
                    },
                    ..Stroke::default()
                        .with_color(Color { a: 0.5, ..ink })
                        .with_width(1.0)
                };
                frame.stroke(&Path::line(px(s), px(t)), dashed);
            }
            let path = Path::new(|b| {
                for (i, m) in self.journey.iter().enumerate() {
                    if i == 0 {
                        b.move_to(px(m.mean));
                    } else {
                        b.line_to(px(m.mean));
                    }
                }
            });
            frame.stroke(&path, Stroke::default().with_color(ink).with_width(2.0));
            for m in self.journey {
                arrow(
                    frame,
                    px(m.start),
                    px(m.end),
                    theme::quadrant_color(m.quadrant),
                );
            }
            for (i, m) in self.journey.iter().enumerate() {
                let c = px(m.mean);
                if m.locked {
                    let r = Path::rectangle(c - Vector::new(9.0, 9.0), Size::new(18.0, 18.0));
                    frame.fill(&r, ink);
                } else {
                    frame.fill(&Path::circle(c, 9.0), ink);
                }
                frame.fill(&Path::circle(c, 7.5), theme::quadrant_color(m.quadrant));
                label(
                    frame,
                    c,
                    &(i + 1).to_string(),
                    theme::on_quadrant(m.quadrant),
                    10.0,
                );
            }
        }

        for (p, text, fill) in [
            (
                self.check_ins[0],
                "before",
                Color::from_rgb8(0xCC, 0x79, 0xA7),
            ),
            (
                self.check_ins[1],
                "after",
                Color::from_rgb8(0x56, 0xB4, 0xE9),
            ),
        ] {
            if let Some(p) = p {
                let c = px(p);
                let d = Path::new(|b| {
                    b.move_to(c + Vector::new(0.0, -9.0));
                    b.line_to(c + Vector::new(9.0, 0.0));
                    b.line_to(c + Vector::new(0.0, 9.0));
                    b.line_to(c + Vector::new(-9.0, 0.0));
                    b.close();
                });
                frame.fill(&d, fill);
                frame.stroke(&d, outline(ink));
                tag(frame, c + Vector::new(12.0, 0.0), text, ink);
            }
        }
        if let Some(p) = self.mood_now {
            let c = px(p);
            frame.stroke(&Path::circle(c, 11.0), outline(ink));
            frame.stroke(
                &Path::circle(c, 15.0),
                Stroke::default()
                    .with_color(Color { a: 0.5, ..ink })
                    .with_width(1.5),
            );
            tag(frame, c + Vector::new(18.0, 0.0), "your mood now", ink);
        }
        if let Some(p) = self.picked {
            let c = px(p);
            let s = outline(ink);
            frame.stroke(
                &Path::line(c - Vector::new(8.0, 0.0), c + Vector::new(8.0, 0.0)),
                s,
            );
            frame.stroke(
                &Path::line(c - Vector::new(0.0, 8.0), c + Vector::new(0.0, 8.0)),
                s,
            );
            tag(
                frame,
                c + Vector::new(10.0, -10.0),
                &format!("{:+.2}, {:+.2}", p.0, p.1),
                ink,
            );
        }
        let ring = |frame: &mut Frame, p: &MapPoint, r: f32| {
            let c = px((p.valence, p.arousal));
            frame.fill(&Path::circle(c, r + 2.0), ink);
            frame.fill(&Path::circle(c, r), self.coloring.color(p));
            c
        };
        if let Some(p) = self.selected.and_then(|id| self.data.point(id)) {
            ring(frame, p, 6.0);
        }
        if let Some(p) = state.hover.and_then(|id| self.data.point(id)) {
            let c = ring(frame, p, 5.0);
            let text = if p.artist.is_empty() {
                p.title.clone()
            } else {
                format!("{} · {}", p.title, p.artist)
            };
            // Flip the label to the left near the right edge.
            let right = c.x < size.width * 0.6;
            let at = c + Vector::new(if right { 10.0 } else { -10.0 }, -12.0);
            tooltip(frame, at, &text, right, theme);
        }
    }
}

/// The quadrants (tinted), the axes, the ticks and the quadrant names.
fn draw_plane(frame: &mut Frame, theme: &Theme, view: View, tints: bool) {
    let size = frame.size();
    let pal = theme.extended_palette();
    let px = |v: f32, a: f32| view.to_px(size, v, a);
    for q in Quadrant::ALL {
        let (v0, v1) = if q.valence_sign() > 0 {
            (0.0, 1.0)
        } else {
            (-1.0, 0.0)
        };
        let (a0, a1) = if q.arousal_sign() > 0 {
            (0.0, 1.0)
        } else {
            (-1.0, 0.0)
        };
        let p = px(v0, a1);
        let r = px(v1, a0);
        if tints {
            let mut c = theme::quadrant_color(q);
            c.a = TINT;
            frame.fill_rectangle(p, Size::new(r.x - p.x, r.y - p.y), c);
        }
        // The name in the quadrant's outer corner, kept inside the canvas when zoomed.
        let corner = px(q.valence_sign() as f32, q.arousal_sign() as f32);
        let (x, ax) = if q.valence_sign() > 0 {
            (
                corner.x.min(size.width) - 8.0,
                iced::widget::text::Alignment::Right,
            )
        } else {
            (corner.x.max(0.0) + 8.0, iced::widget::text::Alignment::Left)
        };
        let y = if q.arousal_sign() > 0 {
            corner.y.max(0.0) + 12.0
        } else {
            corner.y.min(size.height) - 12.0
        };
        let mut ink = theme::quadrant_color(q);
        ink.a = 0.95;
        frame.fill_text(Text {
            content: format!("{q} {}", q.label()),
            position: Point::new(x, y),
            color: ink,
            size: 13.0.into(),
            align_x: ax,
            align_y: alignment::Vertical::Center,
            ..Text::default()
        });
    }
    let grid = Stroke::default()
        .with_color(Color {
            a: 0.35,
            ..pal.background.strong.color
        })
        .with_width(1.0);
    for k in [-0.5f32, 0.5] {
        frame.stroke(&Path::line(px(k, -1.0), px(k, 1.0)), grid);
        frame.stroke(&Path::line(px(-1.0, k), px(1.0, k)), grid);
    }
    let axis = Stroke::default()
        .with_color(pal.background.strong.color)
        .with_width(1.0);
    frame.stroke(&Path::line(px(-1.0, 0.0), px(1.0, 0.0)), axis);
    frame.stroke(&Path::line(px(0.0, -1.0), px(0.0, 1.0)), axis);
    let tl = px(-1.0, 1.0);
    let br = px(1.0, -1.0);
    frame.stroke(
        &Path::rectangle(tl, Size::new(br.x - tl.x, br.y - tl.y)),
        axis,
    );
    let muted = theme::muted(theme);
    let end = px(1.0, 0.0);
    frame.fill_text(Text {
        content: "valence →".into(),
        position: Point::new(end.x.min(size.width) - 6.0, end.y - 9.0),
        color: muted,
        size: 11.0.into(),
        align_x: iced::widget::text::Alignment::Right,
        align_y: alignment::Vertical::Center,
        ..Text::default()
    });
    let top = px(0.0, 1.0);
    frame.fill_text(Text {
        content: "arousal ↑".into(),
        position: Point::new(top.x + 6.0, top.y.max(0.0) + 34.0),
        color: muted,
        size: 11.0.into(),
        align_x: iced::widget::text::Alignment::Left,
        align_y: alignment::Vertical::Center,
        ..Text::default()
    });
}

/// The points as one raster (see the module doc).
fn draw_points(frame: &mut Frame, data: &MapData, view: View, coloring: &Coloring) {
    if let Some(r) = rasterize(data, view, frame.size(), coloring) {
        // One raster pixel per canvas pixel: nearest is exact, and tiny-skia blits it
        // without filtering.
        frame.draw_image(
            r.bounds,
            canvas::Image::new(r.image).filter_method(image::FilterMethod::Nearest),
        );
    }
}

/// The points splatted into an image, and where it goes on the canvas.
#[derive(Debug, Clone)]
pub struct Raster {
    pub image: image::Handle,
    pub bounds: Rectangle,
}

/// Splatting threads: the UI thread and one more (the machines Valence targets have 2+
/// cores; each thread sums its share of the points into its own buffer).
const RASTER_THREADS: usize = 2;

/// The points splatted into an RGBA image covering the plane's part of a canvas of `size`
/// (`None` when there is nothing to draw).
pub fn rasterize(data: &MapData, view: View, size: Size, coloring: &Coloring) -> Option<Raster> {
    if data.is_empty() {
        return None;
    }
    // A 3x3 dot on the whole map; zoomed in, a round disc that grows a little with the
    // zoom, so points are easier to see and hit.
    let (r, r2) = if view.zoom < 1.4 {
        (1.0f32, 2.0f32)
    } else {
        let r = (1.7 + 0.35 * view.zoom.sqrt()).min(4.0);
        (r, r * r + r)
    };
    let ri = r.ceil() as i32;
    // Only the plane (and a disc's reach around it) can hold points.
    let tl = view.to_px(size, -1.0, 1.0);
    let br = view.to_px(size, 1.0, -1.0);
    let x0 = (tl.x.floor() as i32 - ri).max(0);
    let y0 = (tl.y.floor() as i32 - ri).max(0);
    let x1 = (br.x.ceil() as i32 + ri + 1).min(size.width.floor() as i32);
    let y1 = (br.y.ceil() as i32 + ri + 1).min(size.height.floor() as i32);
    let (w, h) = (x1 - x0, y1 - y0);
    if w <= 0 || h <= 0 {
        return None;
    }
    // The disc as runs of pixels: (dy, first dx, last dx).
    let mut runs: Vec<(i32, i32, i32)> = Vec::new();
    for dy in -ri..=ri {
        let reach = (-ri..=ri).filter(|dx| ((dx * dx + dy * dy) as f32) <= r2);
        if let (Some(a), Some(b)) = (reach.clone().min(), reach.max()) {
            runs.push((dy, a, b));
        }
    }
    let n = (w * h) as usize;
    let s = view.scale(size);
    let (ox, oy) = (
        size.width / 2.0 - view.center.0 * s - x0 as f32,
        size.height / 2.0 + view.center.1 * s - y0 as f32,
    );
    // Each point's palette entry, worked out once (a scene's is a map lookup).
    let rgb = |c: Color| [c.r, c.g, c.b].map(|x| (x * 255.0) as u32);
    let (palette, class): (Vec<[u32; 3]>, Vec<u16>) = match coloring {
        Coloring::Mood => (
            Quadrant::ALL
                .map(|q| rgb(theme::quadrant_color(q)))
                .to_vec(),
            data.points
                .iter()
                .map(|p| p.quadrant.index() as u16)
                .collect(),
        ),
        Coloring::Scene(colors) => {
            // Scene ids are small row ids: a table indexed by id (a hash per point cost
            // more than the splatting), up to ids that would make it large.
            let mut palette = vec![rgb(theme::NO_SCENE)];
            let top = colors.keys().copied().max().unwrap_or(0).clamp(0, 1 << 16) as usize;
            let mut slot = vec![0u16; top + 1];
            for (&id, &c) in colors.iter() {
                if let Some(e) = usize::try_from(id).ok().and_then(|i| slot.get_mut(i)) {
                    *e = palette.len() as u16;
                    palette.push(rgb(c));
                }
            }
            let class = data
                .points
                .iter()
                .map(|p| {
                    p.scene
                        .and_then(|s| usize::try_from(s).ok())
                        .and_then(|s| slot.get(s))
                        .copied()
                        .unwrap_or(0)
                })
                .collect();
            (palette, class)
        }
    };
    // Per pixel: how many points cover it, and 1 + the palette entry of the first one (4
    // bytes a pixel, one add a point per pixel; the colour is looked up once per pixel at
    // the end).
    let splat = |first: usize, points: &[MapPoint]| -> Vec<[u16; 2]> {
        let mut acc = vec![[0u16; 2]; n];
        for (i, p) in points.iter().enumerate() {
            let (cx, cy) = ((ox + p.valence * s) as i32, (oy - p.arousal * s) as i32);
            if cx < -ri || cy < -ri || cx >= w + ri || cy >= h + ri {
                continue;
            }
            let k = class[first + i].saturating_add(1);
            for &(dy, a, b) in &runs {
                let y = cy + dy;
                let (a, b) = ((cx + a).max(0), (cx + b).min(w - 1));
                if y < 0 || y >= h || a > b {
                    continue;
                }
                let row = (y * w) as usize;
                for c in &mut acc[row + a as usize..=row + b as usize] {
                    c[0] = c[0].saturating_add(1);
                    if c[1] == 0 {
                        c[1] = k;
                    }
                }
            }
        }
        acc
    };
    let share = data.points.len().div_ceil(RASTER_THREADS);
    let parts: Vec<Vec<[u16; 2]>> = std::thread::scope(|scope| {
        let splat = &splat;
        let handles: Vec<_> = data
            .points
            .chunks(share.max(1))
            .enumerate()
            .skip(1)
            .map(|(k, chunk)| scope.spawn(move || splat(k * share.max(1), chunk)))
            .collect();
        let mut out = vec![splat(0, &data.points[..share.min(data.points.len())])];
        // A splat thread cannot panic (no unwrap, indices checked): if one did, its share
        // is left out of this frame rather than taking the window down.
        out.extend(handles.into_iter().filter_map(|h| h.join().ok()));
        out
    });
    // Opacity by count, from a small table (counts past it are opaque enough).
    let table: Vec<u8> = (0..64)
        .map(|k| ((1.0 - (1.0 - ALPHA).powi(k)) * 255.0).round() as u8)
        .collect();
    // The quadrants' tint under the points (drawn here rather than as four translucent
    // rectangles: one pass over the pixels instead of two). Plane edges in raster pixels.
    let tint: [[u32; 4]; 4] = Quadrant::ALL.map(|q| {
        let c = theme::quadrant_color(q);
        [
            (c.r * 255.0) as u32,
            (c.g * 255.0) as u32,
            (c.b * 255.0) as u32,
            (TINT * 255.0) as u32,
        ]
    });
    let centre = view.to_px(size, 0.0, 0.0);
    let (cx, cy) = (centre.x - x0 as f32, centre.y - y0 as f32);
    let (px0, py0) = (tl.x - x0 as f32, tl.y - y0 as f32);
    let (px1, py1) = (br.x - x0 as f32, br.y - y0 as f32);
    let mut rgba = vec![0u8; n * 4];
    let finish = |out: &mut [u8], first_row: usize| {
        for (r, line) in out.chunks_exact_mut(w as usize * 4).enumerate() {
            let y = (first_row + r) as f32 + 0.5;
            let on_plane_y = y >= py0 && y < py1;
            let base = (first_row + r) * w as usize;
            for (x, px) in line.chunks_exact_mut(4).enumerate() {
                let xf = x as f32 + 0.5;
                let under = (on_plane_y && xf >= px0 && xf < px1).then(|| {
                    let q = match (xf >= cx, y < cy) {
                        (true, true) => 0,
                        (false, true) => 1,
                        (false, false) => 2,
                        (true, false) => 3,
                    };
                    tint[q]
                });
                // The parts in point order: the first that has a point here names its colour.
                let (mut k, mut first) = (0u32, 0u16);
                for part in &parts {
                    let [count, class] = part[base + x];
                    k += u32::from(count);
                    if first == 0 {
                        first = class;
                    }
                }
                if k == 0 {
                    if let Some(t) = under {
                        px.copy_from_slice(&[t[0] as u8, t[1] as u8, t[2] as u8, t[3] as u8]);
                    }
                    continue;
                }
                let dot = palette
                    .get(usize::from(first.saturating_sub(1)))
                    .copied()
                    .unwrap_or([0; 3]);
                let alpha = table[(k as usize).min(table.len() - 1)] as u32;
                match under {
                    // The dot over the tint ("over", straight alpha).
                    Some(t) => {
                        let below = t[3] * (255 - alpha) / 255;
                        let out_a = alpha + below;
                        for ch in 0..3 {
                            px[ch] = ((dot[ch] * alpha + t[ch] * below) / out_a.max(1)) as u8;
                        }
                        px[3] = out_a as u8;
                    }
                    None => {
                        px[..3].copy_from_slice(&[dot[0] as u8, dot[1] as u8, dot[2] as u8]);
                        px[3] = alpha as u8;
                    }
                }
            }
        }
    };
    let rows_each = (h as usize).div_ceil(RASTER_THREADS).max(1);
    std::thread::scope(|scope| {
        let mut chunks = rgba.chunks_mut(rows_each * w as usize * 4);
        let first = chunks.next();
        let handles: Vec<_> = chunks
            .enumerate()
            .map(|(k, c)| {
                let finish = &finish;
                scope.spawn(move || finish(c, (k + 1) * rows_each))
            })
            .collect();
        if let Some(c) = first {
            finish(c, 0);
        }
        for h in handles {
            let _ = h.join();
        }
    });
    Some(Raster {
        image: image::Handle::from_rgba(w as u32, h as u32, rgba),
        bounds: Rectangle::new(
            Point::new(x0 as f32, y0 as f32),
            Size::new(w as f32, h as f32),
        ),
    })
}

/// An arrow from `a` to `b` (a track's opening to its closing mood).
fn arrow(frame: &mut Frame, a: Point, b: Point, color: Color) {
    let d = b - a;
    let len = (d.x * d.x + d.y * d.y).sqrt();
    let stroke = Stroke::default().with_color(color).with_width(2.0);
    if len < 3.0 {
        return;
    }
    frame.stroke(&Path::line(a, b), stroke);
    let u = Vector::new(d.x / len, d.y / len);
    let head = 7.0f32.min(len * 0.6);
    let back = b - u * head;
    let side = Vector::new(-u.y, u.x) * (head * 0.55);
    let tip = Path::new(|p| {
        p.move_to(b);
        p.line_to(back + side);
        p.line_to(back - side);
        p.close();
    });
    frame.fill(&tip, color);
}

fn label(frame: &mut Frame, at: Point, s: &str, color: Color, size: f32) {
    frame.fill_text(Text {
        content: s.to_string(),
        position: at,
        color,
        size: size.into(),
        align_x: iced::widget::text::Alignment::Center,
        align_y: alignment::Vertical::Center,
        ..Text::default()
    });
}

fn tag(frame: &mut Frame, at: Point, s: &str, color: Color) {
    frame.fill_text(Text {
        content: s.to_string(),
        position: at,
        color,
        size: 12.0.into(),
        align_x: iced::widget::text::Alignment::Left,
        align_y: alignment::Vertical::Center,
        ..Text::default()
    });
}

/// Text on a panel, so it reads over dense points.
fn tooltip(frame: &mut Frame, at: Point, s: &str, right: bool, theme: &Theme) {
    let pal = theme.extended_palette();
    // Fira Sans at 13 px averages about 6.6 px a character.
    let w = s.chars().count() as f32 * 6.6 + 12.0;
    let x = if right { at.x } else { at.x - w };
    let bg = Path::rounded_rectangle(Point::new(x, at.y - 11.0), Size::new(w, 22.0), 4.0.into());
    frame.fill(&bg, pal.background.weak.color);
    frame.stroke(
        &bg,
        Stroke::default()
            .with_color(pal.background.strong.color)
            .with_width(1.0),
    );
    frame.fill_text(Text {
        content: s.to_string(),
        position: Point::new(x + 6.0, at.y),
        color: pal.background.base.text,
        size: 13.0.into(),
        align_x: iced::widget::text::Alignment::Left,
        align_y: alignment::Vertical::Center,
        ..Text::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(id: i64, v: f32, a: f32) -> MapPoint {
        MapPoint {
            id,
            valence: v,
            arousal: a,
            quadrant: Quadrant::of_point(v, a),
            scene: None,
            title: format!("t{id}"),
            artist: String::new(),
        }
    }

    #[test]
    fn the_grid_finds_the_nearest_point_like_a_scan() {
        let mut s = 7u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 20_001) as f32 / 10_000.0 - 1.0
        };
        let data = MapData::new((0..3000).map(|i| pt(i, next(), next())).collect());
        for _ in 0..500 {
            let (v, a, r) = (next(), next(), (next() + 1.0) * 0.05);
            let scan = data
                .points()
                .iter()
                .map(|p| ((p.valence - v).hypot(p.arousal - a), p.id))
                .filter(|(d, _)| *d <= r)
                .min_by(|x, y| x.0.total_cmp(&y.0))
                .map(|(_, id)| id);
            assert_eq!(data.nearest(v, a, r).map(|p| p.id), scan);
        }
    }

    #[test]
    fn views_map_back_and_forth_and_zoom_keeps_the_cursor_point() {
        let size = Size::new(800.0, 600.0);
        let view = View {
            center: (0.2, -0.1),
            zoom: 3.0,
        };
        let p = view.to_px(size, 0.3, -0.25);
        let (v, a) = view.to_plane(size, p);
        assert!((v - 0.3).abs() < 1e-5 && (a + 0.25).abs() < 1e-5);
        let at = Point::new(500.0, 200.0);
        let before = view.to_plane(size, at);
        let z = view.zoomed(size, at, 1.25);
        let after = z.to_plane(size, at);
        assert!((z.zoom - 3.75).abs() < 1e-5);
        assert!((before.0 - after.0).abs() < 1e-4 && (before.1 - after.1).abs() < 1e-4);
        // Zooming all the way out recentres.
        assert_eq!(z.zoomed(size, at, 1e-3), View::default());
        assert_eq!(View::default().zoomed(size, at, 1e9).zoom, MAX_ZOOM);
    }

    #[test]
    fn the_raster_shades_dense_places_darker_than_lone_points() {
        let size = Size::new(200.0, 200.0);
        let view = View::default();
        let mut pts = vec![pt(0, -0.5, 0.5)];
        pts.extend((1..50).map(|i| pt(i, 0.5, 0.5)));
        let data = MapData::new(pts);
        let r = rasterize(&data, view, size, &Coloring::Mood).expect("an image");
        let image::Handle::Rgba { width, pixels, .. } = r.image else {
            panic!("an RGBA handle");
        };
        let alpha_at = |v: f32, a: f32| {
            let p = view.to_px(size, v, a);
            let (x, y) = ((p.x - r.bounds.x) as u32, (p.y - r.bounds.y) as u32);
            pixels[((y * width + x) * 4 + 3) as usize]
        };
        let lone = alpha_at(-0.5, 0.5);
        let dense = alpha_at(0.5, 0.5);
        assert!(lone > 100 && lone < 160, "{lone}");
        assert_eq!(dense, 255);
        assert_eq!(alpha_at(0.0, -0.5), (TINT * 255.0) as u8, "the tint alone");
    }

    #[test]
    fn by_scene_a_pixel_takes_its_first_points_scene_colour() {
        let size = Size::new(200.0, 200.0);
        let view = View::default();
        let with_scene = |id: i64, v: f32, a: f32, scene: Option<i64>| MapPoint {
            scene,
            ..pt(id, v, a)
        };
        // Dense places, so the dot's colour is not blended with the tint.
        let mut pts = Vec::new();
        for i in 0..40 {
            pts.push(with_scene(i, 0.5, 0.5, Some(7)));
            pts.push(with_scene(100 + i, -0.5, -0.5, None));
            // Scene 9 first, then scene 7 on the same spot: scene 9 shows.
            pts.push(with_scene(
                200 + i,
                -0.5,
                0.5,
                Some(if i == 0 { 9 } else { 7 }),
            ));
        }
        let data = MapData::new(pts);
        let (c7, c9) = (Color::from_rgb8(200, 10, 10), Color::from_rgb8(10, 10, 200));
        let colors = HashMap::from([(7, c7), (9, c9)]);
        let r = rasterize(&data, view, size, &Coloring::Scene(Arc::new(colors))).expect("an image");
        let image::Handle::Rgba { width, pixels, .. } = r.image else {
            panic!("an RGBA handle");
        };
        let rgb_at = |v: f32, a: f32| {
            let p = view.to_px(size, v, a);
            let (x, y) = ((p.x - r.bounds.x) as u32, (p.y - r.bounds.y) as u32);
            let i = ((y * width + x) * 4) as usize;
            [pixels[i], pixels[i + 1], pixels[i + 2]]
        };
        let rgb8 = |c: Color| [c.r, c.g, c.b].map(|x| (x * 255.0) as u8);
        assert_eq!(rgb_at(0.5, 0.5), rgb8(c7));
        assert_eq!(rgb_at(-0.5, -0.5), rgb8(theme::NO_SCENE), "no scene: grey");
        assert_eq!(rgb_at(-0.5, 0.5), rgb8(c9));
        // By mood, the same points take their quadrants' colours.
        let r = rasterize(&data, view, size, &Coloring::Mood).expect("an image");
        let image::Handle::Rgba { pixels, .. } = r.image else {
            panic!("an RGBA handle");
        };
        let p = view.to_px(size, -0.5, -0.5);
        let i = (((p.y - r.bounds.y) as u32 * width + (p.x - r.bounds.x) as u32) * 4) as usize;
        assert_eq!(
            [pixels[i], pixels[i + 1], pixels[i + 2]],
            rgb8(theme::quadrant_color(Quadrant::Q3))
        );
    }

    #[test]
    fn points_at_and_past_the_edges_are_clipped_not_a_panic() {
        let data = MapData::new(
            [
                (-1.0, -1.0),
                (1.0, 1.0),
                (-1.0, 1.0),
                (1.0, -1.0),
                (0.0, 0.0),
            ]
            .iter()
            .enumerate()
            .map(|(i, &(v, a))| pt(i as i64, v, a))
            .collect(),
        );
        for size in [Size::new(37.0, 23.0), Size::new(300.0, 200.0)] {
            for zoom in [1.0, 1.5, 3.0, 20.0, 64.0] {
                for c in [(-1.0, -1.0), (1.0, 1.0), (1.0, -1.0), (0.0, 0.0)] {
                    let view = View { center: c, zoom };
                    let r = rasterize(&data, view, size, &Coloring::Mood).expect("an image");
                    let image::Handle::Rgba {
                        width,
                        height,
                        pixels,
                        ..
                    } = r.image
                    else {
                        panic!("an RGBA handle");
                    };
                    assert_eq!(pixels.len(), (width * height * 4) as usize);
                    assert!(r.bounds.x >= 0.0 && r.bounds.y >= 0.0);
                    assert!(r.bounds.x + r.bounds.width <= size.width);
                    assert!(r.bounds.y + r.bounds.height <= size.height);
                    // The point at the view's centre is drawn.
                    let p = view.to_px(size, c.0, c.1) - Vector::new(r.bounds.x, r.bounds.y);
                    let i = ((p.y as u32 * width + p.x as u32) * 4 + 3) as usize;
                    assert!(pixels[i] > 0, "{c:?} at zoom {zoom} in {size:?}");
                }
            }
        }
    }

    #[test]
    fn regions_are_clamped_and_ordered() {
        let r = Region::spanning((0.5, 1.4), (-0.2, 0.1));
        assert_eq!(r.valence, (-0.2, 0.5));
        assert_eq!(r.arousal, (0.1, 1.0));
        assert!(r.contains(0.0, 0.5) && !r.contains(0.6, 0.5));
    }
}
