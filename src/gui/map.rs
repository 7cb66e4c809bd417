//! The map screen: the library on the valence-arousal plane (`widgets::map_canvas`), with
//! its toolbar (drag mode, zoom, reset, colour by mood or by theme scene, with a legend)
//! and what a dragged-out region offers (show those tracks in the table, or make a playlist
//! of them).

use std::collections::HashMap;
use std::sync::Arc;

use iced::widget::canvas::{self, Cache};
use iced::widget::{button, column, container, row, space, text};
use iced::{alignment, mouse, Element, Font, Length, Pixels, Point, Rectangle, Size};

use super::detail::muted_text;
use super::theme;
use super::widgets::map_canvas::{
    Coloring, DragMode, Ends, Interaction, JourneyMark, MapCanvas, MapData, MapEvent, Region, View,
};
use crate::library::BrowseRow;
use crate::playlists::Session;

pub struct State {
    data: Arc<MapData>,
    /// The rows changed since `data` was built (rebuilt when the map is shown).
    stale: bool,
    cache: Cache,
    view: View,
    mode: DragMode,
    region: Option<Region>,
    region_count: usize,
    picked: Option<(f32, f32)>,
    selected: Option<i64>,
    mood_now: Option<(f32, f32)>,
    /// Clicks mark points, even on tracks (a check-in is waiting for one).
    picking: bool,
    /// Points coloured by theme scene rather than by mood.
    by_scene: bool,
    /// Each scene's colour (largest scene first), and the legend: colour, name, tracks.
    scene_colors: Arc<HashMap<i64, iced::Color>>,
    legend: Vec<(iced::Color, String, usize)>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            data: Arc::new(MapData::default()),
            stale: true,
            cache: Cache::new(),
            view: View::default(),
            mode: DragMode::Pan,
            region: None,
            region_count: 0,
            picked: None,
            selected: None,
            mood_now: None,
            picking: false,
            by_scene: false,
            scene_colors: Arc::default(),
            legend: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Canvas(MapEvent),
    Mode(DragMode),
    Zoom(f32),
    ResetView,
    ClearRegion,
    RegionToLibrary,
    RegionPlaylist,
    /// Colour the points by theme scene (true) or by mood.
    ColorByScene(bool),
}

/// What the map asks of the rest of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A track was clicked: open its detail.
    Select(i64),
    /// The plane was clicked away from any track.
    Pick(f32, f32),
    /// Show the region's tracks in the library table.
    FilterLibrary(Region),
    /// Make a playlist of the region's tracks.
    MakePlaylist(Region),
}

/// What lies on top of the points: the journey and the session's check-ins.
#[derive(Default)]
pub struct Overlay<'a> {
    pub journey: &'a [JourneyMark],
    pub ends: Option<Ends>,
    pub check_ins: [Option<(f32, f32)>; 2],
}

impl State {
    /// The library's rows changed: the points are rebuilt the next time the map shows.
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// Rebuilds the points from `rows` when they changed since.
    pub fn refresh<'a>(&mut self, rows: impl IntoIterator<Item = &'a BrowseRow>) {
        if self.stale {
            self.data = Arc::new(MapData::from_rows(rows));
            self.stale = false;
            self.cache.clear();
            self.recount();
        }
    }

    pub fn data(&self) -> &Arc<MapData> {
        &self.data
    }

    /// The library's theme scenes (`(id, name, tracks)`, largest first): their colours and
    /// the legend. Without scenes the map goes back to mood colours.
    pub fn set_scenes(&mut self, scenes: &[(i64, String, usize)]) {
        self.scene_colors = Arc::new(
            scenes
                .iter()
                .enumerate()
                .map(|(slot, s)| (s.0, theme::scene_color(slot)))
                .collect(),
        );
        self.legend = scenes
            .iter()
            .enumerate()
            .map(|(slot, s)| (theme::scene_color(slot), s.1.clone(), s.2))
            .collect();
        if scenes.is_empty() {
            self.by_scene = false;
        }
        // The scenes' tracks may have changed too: the points carry each track's scene.
        self.stale = true;
        self.cache.clear();
    }

    pub fn by_scene(&self) -> bool {
        self.by_scene
    }

    fn coloring(&self) -> Coloring {
        if self.by_scene {
            Coloring::Scene(self.scene_colors.clone())
        } else {
            Coloring::Mood
        }
    }

    pub fn view_state(&self) -> View {
        self.view
    }

    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// Tracks in the selected region.
    pub fn region_count(&self) -> usize {
        self.region_count
    }

    pub fn picked(&self) -> Option<(f32, f32)> {
        self.picked
    }

    pub fn set_selected(&mut self, id: Option<i64>) {
        self.selected = id;
    }

    pub fn set_mood_now(&mut self, p: Option<(f32, f32)>) {
        self.mood_now = p;
    }

    /// While on, a click marks a point wherever it lands (tracks are not selected).
    pub fn set_picking(&mut self, on: bool) {
        self.picking = on;
    }

    fn recount(&mut self) {
        self.region_count = self.region.map_or(0, |r| self.data.inside(r).count());
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Canvas(MapEvent::View(v)) => {
                self.set_view(v);
                None
            }
            Message::Canvas(MapEvent::Select(id)) => {
                self.selected = Some(id);
                Some(Event::Select(id))
            }
            Message::Canvas(MapEvent::Pick(v, a)) => {
                // A check-in's point is the check-in's, not a journey end.
                if !self.picking {
                    self.picked = Some((v, a));
                }
                Some(Event::Pick(v, a))
            }
            Message::Canvas(MapEvent::Region(r)) => {
                self.region = Some(r);
                self.recount();
                None
            }
            Message::Mode(m) => {
                self.mode = m;
                None
            }
            Message::Zoom(f) => {
                // About the canvas's centre, which is the view's centre whatever its size.
                let size = Size::new(800.0, 600.0);
                let centre = Point::new(size.width / 2.0, size.height / 2.0);
                let v = self.view.zoomed(size, centre, f);
                self.set_view(v);
                None
            }
            Message::ResetView => {
                self.set_view(View::default());
                None
            }
            Message::ClearRegion => {
                self.region = None;
                self.region_count = 0;
                None
            }
            Message::RegionToLibrary => self.region.map(Event::FilterLibrary),
            Message::RegionPlaylist => self.region.map(Event::MakePlaylist),
            Message::ColorByScene(on) => {
                let on = on && !self.legend.is_empty();
                if on != self.by_scene {
                    self.by_scene = on;
                    self.cache.clear();
                }
                None
            }
        }
    }

    /// Shows `points` (a journey) as large as the canvas allows, with a margin.
    pub fn fit(&mut self, points: impl IntoIterator<Item = (f32, f32)>) {
        let (mut lo, mut hi) = ((f32::MAX, f32::MAX), (f32::MIN, f32::MIN));
        for (v, a) in points {
            lo = (lo.0.min(v), lo.1.min(a));
            hi = (hi.0.max(v), hi.1.max(a));
        }
        if lo.0 > hi.0 {
            return;
        }
        // Half the larger side, plus a margin for the markers and arrows.
        let half = ((hi.0 - lo.0).max(hi.1 - lo.1) / 2.0 + 0.12).max(0.15);
        let zoom = (1.0 / half).clamp(super::widgets::map_canvas::MIN_ZOOM, 6.0);
        self.set_view(View {
            center: ((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0),
            zoom,
        });
    }

    fn set_view(&mut self, v: View) {
        if v != self.view {
            self.view = v;
            self.cache.clear();
        }
    }

    pub fn view<'a>(&'a self, overlay: Overlay<'a>) -> Element<'a, Message> {
        let mode = |m: DragMode, label: &'static str| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 10.0])
                .style(if self.mode == m {
                    button::secondary
                } else {
                    theme::flat
                })
                .on_press(Message::Mode(m))
        };
        let small = |label: &'static str, m: Message| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 10.0])
                .style(theme::flat)
                .on_press(m)
        };
        let hint = match self.mode {
            DragMode::Pan => "Drag to move · scroll to zoom · Shift+drag selects a region",
            DragMode::Select => "Drag a rectangle to select · Shift+drag moves the map",
        };
        let color_by = |by_scene: bool, label: &'static str| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 10.0])
                .style(if self.by_scene == by_scene {
                    button::secondary
                } else {
                    theme::flat
                })
                .on_press_maybe(
                    (!by_scene || !self.legend.is_empty())
                        .then_some(Message::ColorByScene(by_scene)),
                )
        };
        let toolbar = row![
            text("Drag to").size(theme::TEXT_SMALL).style(muted_text),
            mode(DragMode::Pan, "Move"),
            mode(DragMode::Select, "Select region"),
            small("−", Message::Zoom(1.0 / 1.5)),
            small("+", Message::Zoom(1.5)),
            small("Whole map", Message::ResetView),
            text(format!("{:.1}×", self.view.zoom))
                .size(theme::TEXT_SMALL)
                .style(muted_text),
            text("Colour by").size(theme::TEXT_SMALL).style(muted_text),
            color_by(false, "Mood"),
            color_by(true, "Scene"),
        ]
        .spacing(theme::SPACE_S)
        .align_y(alignment::Vertical::Center);
        let count = self.data.len();
        let header = row![
            text(if count == 0 {
                "No analysed tracks yet: points appear here as tracks are analysed.".to_string()
            } else {
                format!("{count} analysed tracks")
            })
            .size(theme::TEXT_SMALL)
            .style(muted_text),
            space::horizontal(),
            text(hint).size(theme::TEXT_SMALL).style(muted_text),
        ]
        .spacing(theme::SPACE_S);
        let map = canvas(MapCanvas {
            data: &self.data,
            cache: &self.cache,
            view: self.view,
            mode: self.mode,
            selected: self.selected,
            region: self.region,
            mood_now: self.mood_now,
            picked: self.picked,
            journey: overlay.journey,
            ends: overlay.ends,
            check_ins: overlay.check_ins,
            picking: self.picking,
            coloring: self.coloring(),
            on_event: Message::Canvas,
        })
        .width(Length::Fill)
        .height(Length::Fill);
        let mut col = column![toolbar, header].spacing(theme::SPACE_S);
        if self.by_scene {
            col = col.push(self.legend());
        }
        col = col.push(map);
        if let Some(r) = self.region {
            col = col.push(self.region_bar(r));
        }
        container(col)
            .padding(theme::SPACE_M)
            .width(Length::Fill)
            .height(Length::Fill)
            .into()
    }

    /// Each scene's colour and name, wrapping onto more lines as needed.
    fn legend(&self) -> Element<'_, Message> {
        let items = self.legend.iter().map(|(c, name, n)| {
            row![
                theme::swatch(*c, 10.0),
                text(format!("{name} ({n})")).size(theme::TEXT_SMALL),
            ]
            .spacing(theme::SPACE_XS)
            .align_y(alignment::Vertical::Center)
            .into()
        });
        row(items)
            .spacing(theme::SPACE_M)
            .wrap()
            .vertical_spacing(theme::SPACE_XS)
            .into()
    }

    fn region_bar(&self, r: Region) -> Element<'_, Message> {
        let n = self.region_count;
        let act = |label: &'static str, m: Message, on: bool| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 10.0])
                .style(button::secondary)
                .on_press_maybe(on.then_some(m))
        };
        container(
            row![
                text(format!(
                    "{n} tracks with valence {:+.2} to {:+.2}, arousal {:+.2} to {:+.2}",
                    r.valence.0, r.valence.1, r.arousal.0, r.arousal.1
                ))
                .size(theme::TEXT_SMALL),
                space::horizontal(),
                act("Show in library", Message::RegionToLibrary, n > 0),
                act("Make a playlist", Message::RegionPlaylist, n > 0),
                button(text("Clear").size(theme::TEXT_SMALL))
                    .padding([4.0, 10.0])
                    .style(theme::flat)
                    .on_press(Message::ClearRegion),
            ]
            .spacing(theme::SPACE_S)
            .align_y(alignment::Vertical::Center),
        )
        .padding([6.0, theme::SPACE_M])
        .width(Length::Fill)
        .style(theme::card)
        .into()
    }
}

/// The map drawn alone (`canvas::Program` users outside the window: the session sheet's
/// picture and the bench).
pub fn canvas_for<'a, M: Clone>(
    data: &'a MapData,
    cache: &'a Cache,
    overlay: Overlay<'a>,
    on_event: fn(MapEvent) -> M,
) -> MapCanvas<'a, M> {
    MapCanvas {
        data,
        cache,
        view: View::default(),
        mode: DragMode::Pan,
        selected: None,
        region: None,
        mood_now: None,
        picked: None,
        journey: overlay.journey,
        ends: overlay.ends,
        check_ins: overlay.check_ins,
        picking: false,
        coloring: Coloring::Mood,
        on_event,
    }
}

/// Size of the session sheet's picture of the map (logical pixels; drawn at 2x).
pub const SHEET_MAP: Size = Size::new(520.0, 520.0);

/// A renderer that draws off screen (tiny-skia, the app's font).
pub fn headless_renderer() -> Result<iced::Renderer, String> {
    use iced::advanced::renderer::Headless;
    block_on(<iced::Renderer as Headless>::new(
        Font::with_name(super::FONT_NAME),
        Pixels(theme::TEXT_BODY),
        Some("tiny-skia"),
    ))
    .ok_or_else(|| "no headless renderer".to_string())
}

/// Queues one frame of `program` at `size` (logical pixels) on `renderer`: the canvas's
/// geometry, as the window draws it (the caller rasterises it).
pub fn queue_frame<M: Clone>(
    program: &MapCanvas<'_, M>,
    renderer: &mut iced::Renderer,
    theme: &iced::Theme,
    size: Size,
) {
    use iced::advanced::graphics::geometry::Renderer as _;
    use iced::advanced::Renderer as _;

    let bounds = Rectangle::new(Point::ORIGIN, size);
    // A new frame: the last one's layers go.
    renderer.reset(bounds);
    let layers = canvas::Program::<M>::draw(
        program,
        &Interaction::default(),
        renderer,
        theme,
        bounds,
        mouse::Cursor::Unavailable,
    );
    for g in layers {
        renderer.draw_geometry(g);
    }
}

/// One frame of `program` at `size` and `scale`, rasterised to RGBA pixels.
pub fn draw_frame<M: Clone>(
    program: &MapCanvas<'_, M>,
    renderer: &mut iced::Renderer,
    theme: &iced::Theme,
    size: Size,
    scale: f32,
) -> Vec<u8> {
    use iced::advanced::renderer::Headless;

    queue_frame(program, renderer, theme, size);
    let px = iced::Size::new(
        (size.width * scale).round() as u32,
        (size.height * scale).round() as u32,
    );
    renderer.screenshot(px, scale, theme.palette().background)
}

/// The session's path on the map over the library's points, as PNG bytes: the window's
/// own canvas drawn headless (tiny-skia) in the light theme, for printing.
pub fn session_png(data: &MapData, session: &Session) -> Result<Vec<u8>, String> {
    let marks = super::journey::marks(&session.items);
    let point = |c: &Option<crate::playlists::CheckIn>| c.map(|c| (c.valence, c.arousal));
    let overlay = Overlay {
        journey: &marks,
        ends: Some((session.request.from, session.request.to)),
        check_ins: [point(&session.before), point(&session.after)],
    };
    let theme = theme::Mode::Light.theme();
    let mut renderer = headless_renderer()?;
    let cache = Cache::new();
    let program = canvas_for(data, &cache, overlay, |_| ());
    let scale = 2.0;
    let rgba = draw_frame(&program, &mut renderer, &theme, SHEET_MAP, scale);
    let (w, h) = (
        (SHEET_MAP.width * scale) as u32,
        (SHEET_MAP.height * scale) as u32,
    );
    let img =
        ::image::RgbaImage::from_raw(w, h, rgba).ok_or("the renderer returned a short picture")?;
    let mut png = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut png),
        ::image::ImageFormat::Png,
    )
    .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Runs a future that needs no reactor to its end (the tiny-skia renderer's constructor
/// is ready at once; iced's executor is not built in).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

fn canvas<'a, P: canvas::Program<Message> + 'a>(p: P) -> canvas::Canvas<P, Message> {
    canvas::Canvas::new(p)
}
