//! The Scenes screen: one card per theme scene (its name, size, mood mix and typical
//! tracks) with Play, Show in library and Rename; above them, how the scenes were fitted
//! and a button to fit them again. The scenes themselves are fitted and updated in the
//! background (`backend::update_scenes`); this module only shows them.

use iced::widget::{button, column, container, row, scrollable, space, text, text_input};
use iced::{alignment, Color, Element, Font, Length};

use super::detail::muted_text;
use super::library;
use super::theme;
use crate::mood::Quadrant;
use crate::themes::store::{Scene, SceneUpdate, MIN_TRACKS, REFIT_GROWTH};

/// Width of a card.
const CARD_WIDTH: f32 = 300.0;

#[derive(Debug, Clone, Default)]
pub struct State {
    scenes: Vec<Scene>,
    /// An update (fit or fold-in) is running.
    busy: bool,
    /// What the last update did, in words.
    status: Option<String>,
    error: Option<String>,
    /// The scene being renamed and the name typed so far.
    renaming: Option<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Play the scene, from one of its tracks (None: the most typical).
    Play(i64, Option<i64>),
    Show(i64),
    Rename(i64),
    RenameInput(String),
    RenameSave,
    RenameCancel,
    Refit,
}

/// What the screen asks of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Play the scene's tracks, starting at a track (None: its most typical).
    Play {
        scene: i64,
        from: Option<i64>,
    },
    /// Show the scene's tracks in the library table.
    Show(i64),
    Rename(i64, String),
    /// Fit the scenes again now.
    Refit,
}

impl State {
    pub fn scenes(&self) -> &[Scene] {
        &self.scenes
    }

    pub fn scene(&self, id: i64) -> Option<&Scene> {
        self.scenes.iter().find(|s| s.id == id)
    }

    pub fn is_busy(&self) -> bool {
        self.busy
    }

    pub fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// An update's outcome: the scenes now and what changed, or why it failed (the old
    /// scenes stay).
    pub fn set(&mut self, r: Result<(SceneUpdate, Vec<Scene>), String>) {
        self.busy = false;
        match r {
            Ok((update, scenes)) => {
                self.error = None;
                if let Some(f) = &update.fit {
                    let mut t = format!("Fitted {} scenes on {} tracks", f.scenes, f.tracks);
                    if f.kept + f.removed > 0 {
                        t.push_str(&format!(
                            " ({} kept from before, {} gone)",
                            f.kept, f.removed
                        ));
                    }
                    self.status = Some(t);
                } else if update.folded_in > 0 {
                    self.status = Some(format!(
                        "{} new tracks placed in the scenes",
                        update.folded_in
                    ));
                }
                if self
                    .renaming
                    .as_ref()
                    .is_some_and(|(id, _)| !scenes.iter().any(|s| s.id == *id))
                {
                    self.renaming = None;
                }
                self.scenes = scenes;
            }
            Err(e) => self.error = Some(e),
        }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Play(scene, from) => Some(Event::Play { scene, from }),
            Message::Show(id) => Some(Event::Show(id)),
            Message::Rename(id) => {
                let name = self.scene(id).map(|s| s.name.clone()).unwrap_or_default();
                self.renaming = Some((id, name));
                None
            }
            Message::RenameInput(s) => {
                if let Some((_, name)) = &mut self.renaming {
                    *name = s;
                }
                None
            }
            Message::RenameSave => {
                let (id, name) = self.renaming.take()?;
                let name = name.trim().to_string();
                if name.is_empty() {
                    return None;
                }
                // Shown at once; the stored name comes back with the next update.
                if let Some(s) = self.scenes.iter_mut().find(|s| s.id == id) {
                    s.name = name.clone();
                }
                Some(Event::Rename(id, name))
            }
            Message::RenameCancel => {
                self.renaming = None;
                None
            }
            Message::Refit => (!self.busy).then_some(Event::Refit),
        }
    }

    /// The screen. `rows` names the typical tracks; `analysed` is how many tracks have a
    /// mood (for the empty state).
    pub fn view<'a>(&'a self, rows: &'a library::State, analysed: u64) -> Element<'a, Message> {
        let tracks: usize = self.scenes.iter().map(|s| s.tracks).sum();
        let summary = if self.scenes.is_empty() {
            String::new()
        } else {
            format!(
                "{} scenes over {tracks} tracks: songs that sound alike, found by a topic model over the library's audio words. They are fitted again when the library grows by a fifth.",
                self.scenes.len()
            )
        };
        let refit = button(
            text(if self.busy {
                "Fitting…"
            } else {
                "Fit again now"
            })
            .size(theme::TEXT_SMALL),
        )
        .padding([4.0, 10.0])
        .style(button::secondary)
        .on_press_maybe((!self.busy && analysed >= MIN_TRACKS as u64).then_some(Message::Refit));
        let mut col = column![row![
            super::playlists::section("Theme scenes"),
            space::horizontal(),
            refit
        ]
        .align_y(alignment::Vertical::Center)]
        .spacing(theme::SPACE_S);
        if !summary.is_empty() {
            col = col.push(text(summary).size(theme::TEXT_SMALL).style(muted_text));
        }
        if let Some(s) = &self.status {
            col = col.push(text(s.clone()).size(theme::TEXT_SMALL).style(muted_text));
        }
        if let Some(e) = &self.error {
            col = col.push(super::detail::error_box(
                "Could not update the scenes",
                e.clone(),
            ));
        }
        if self.scenes.is_empty() {
            let why = if self.busy {
                "Finding the library's theme scenes…".to_string()
            } else if analysed < MIN_TRACKS as u64 {
                format!(
                    "Theme scenes need at least {MIN_TRACKS} analysed tracks; {analysed} are analysed so far. They appear here once the analysis has done enough."
                )
            } else {
                format!(
                    "No scenes yet. They are fitted after the analysis, and again when the library grows by {:.0} %.",
                    (REFIT_GROWTH - 1.0) * 100.0
                )
            };
            col = col.push(text(why).size(theme::TEXT_BODY).style(muted_text));
        }
        let cards = self
            .scenes
            .iter()
            .enumerate()
            .map(|(slot, s)| self.card(slot, s, rows));
        col = col.push(
            scrollable(
                row(cards)
                    .spacing(theme::SPACE_M)
                    .padding(super::playlists::SCROLLBAR_GUTTER)
                    .wrap()
                    .vertical_spacing(theme::SPACE_M),
            )
            .height(Length::Fill),
        );
        container(col)
            .padding(theme::SPACE_M)
            .width(Length::Fill)
            .height(Length::Fill)
            .into()
    }

    fn card<'a>(
        &'a self,
        slot: usize,
        s: &'a Scene,
        rows: &'a library::State,
    ) -> Element<'a, Message> {
        let swatch = theme::swatch(theme::scene_color(slot), 12.0);
        let title: Element<'a, Message> = match &self.renaming {
            Some((id, name)) if *id == s.id => row![
                text_input("Scene name", name)
                    .on_input(Message::RenameInput)
                    .on_submit(Message::RenameSave)
                    .size(theme::TEXT_BODY)
                    .padding([4.0, 6.0])
                    .width(Length::Fill),
                small_button("Save", Message::RenameSave),
                small_button("Cancel", Message::RenameCancel),
            ]
            .spacing(theme::SPACE_XS)
            .align_y(alignment::Vertical::Center)
            .into(),
            _ => row![
                swatch,
                text(s.name.as_str())
                    .size(theme::TEXT_BODY)
                    .font(Font {
                        weight: iced::font::Weight::Semibold,
                        ..Font::with_name(super::FONT_NAME)
                    })
                    .width(Length::Fill),
                small_button("Rename", Message::Rename(s.id)),
            ]
            .spacing(theme::SPACE_S)
            .align_y(alignment::Vertical::Center)
            .into(),
        };
        let mut facts = format!(
            "{} tracks · centre valence {:+.2}, arousal {:+.2}",
            s.tracks, s.mood.valence, s.mood.arousal
        );
        if s.name != s.auto_name {
            facts.push_str(&format!(" · found as “{}”", s.auto_name));
        }
        let typical = s.typical.iter().filter_map(|&id| {
            let r = rows.row(id)?;
            let label = if r.artist.is_empty() {
                r.title.clone()
            } else {
                format!("{} · {}", r.title, r.artist)
            };
            Some(
                button(
                    text(label)
                        .size(theme::TEXT_SMALL)
                        .wrapping(text::Wrapping::None),
                )
                .padding([2.0, 4.0])
                .width(Length::Fill)
                .style(theme::flat)
                .on_press(Message::Play(s.id, Some(id)))
                .into(),
            )
        });
        let body = column![
            title,
            text(facts).size(theme::TEXT_SMALL).style(muted_text),
            mood_bar(s.mood_mix),
            text(mix_text(s.mood_mix))
                .size(theme::TEXT_SMALL)
                .style(muted_text),
            text("Typical tracks").size(theme::TEXT_SMALL),
            column(typical).spacing(0),
            row![
                button(text("Play").size(theme::TEXT_SMALL))
                    .padding([4.0, 12.0])
                    .style(button::primary)
                    .on_press_maybe((s.tracks > 0).then_some(Message::Play(s.id, None))),
                button(text("Show in library").size(theme::TEXT_SMALL))
                    .padding([4.0, 12.0])
                    .style(button::secondary)
                    .on_press_maybe((s.tracks > 0).then_some(Message::Show(s.id))),
            ]
            .spacing(theme::SPACE_S),
        ]
        .spacing(theme::SPACE_S);
        container(body)
            .padding(theme::SPACE_M)
            .width(Length::Fixed(CARD_WIDTH))
            .style(theme::card)
            .into()
    }
}

fn small_button<'a>(label: &'a str, m: Message) -> button::Button<'a, Message> {
    button(text(label).size(theme::TEXT_SMALL))
        .padding([2.0, 8.0])
        .style(theme::flat)
        .on_press(m)
}

/// The scene's mood mix as one bar, a segment per quadrant in its colour.
fn mood_bar<'a>(mix: [f64; 4]) -> Element<'a, Message> {
    let parts = Quadrant::ALL.into_iter().filter_map(|q| {
        let share = mix[q.index()];
        // FillPortion wants integers: per mille, at least 1 for a visible share.
        let portion = (share * 1000.0).round() as u16;
        (portion > 0).then(|| {
            let c: Color = theme::quadrant_color(q);
            container(space())
                .width(Length::FillPortion(portion))
                .height(Length::Fixed(8.0))
                .style(move |_: &iced::Theme| container::Style {
                    background: Some(c.into()),
                    ..container::Style::default()
                })
                .into()
        })
    });
    row(parts).width(Length::Fill).into()
}

/// "Q1 12 % · Q3 30 % · Q4 58 %" (quadrants under 1 % left out; the bar above it carries
/// the colours, the chips elsewhere the quadrants' names).
pub fn mix_text(mix: [f64; 4]) -> String {
    Quadrant::ALL
        .into_iter()
        .filter(|q| mix[q.index()] >= 0.01)
        .map(|q| format!("{q} {:.0} %", mix[q.index()] * 100.0))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_text_names_each_quadrant_with_its_share() {
        let t = mix_text([0.12, 0.004, 0.3, 0.576]);
        assert!(t.starts_with("Q1 12 % · Q3 30 %"), "{t}");
        assert!(
            t.contains("12 %") && t.contains("30 %") && t.contains("58 %"),
            "{t}"
        );
        assert!(!t.contains("Q2"), "{t}");
    }

    #[test]
    fn renaming_keeps_the_name_and_refuses_an_empty_one() {
        let mut s = State {
            scenes: vec![Scene {
                id: 7,
                name: "piano · ambient: calm".into(),
                auto_name: "piano · ambient: calm".into(),
                weight: 10.0,
                tracks: 10,
                mood_mix: [0.0, 0.0, 0.2, 0.8],
                mood: crate::mood::Mood::from_point(0.3, -0.4, &Default::default()),
                typical: vec![],
            }],
            ..State::default()
        };
        assert_eq!(s.update(Message::Rename(7)), None);
        s.update(Message::RenameInput("   ".into()));
        assert_eq!(s.update(Message::RenameSave), None, "an empty name");
        s.update(Message::Rename(7));
        s.update(Message::RenameInput(" Sunday piano ".into()));
        assert_eq!(
            s.update(Message::RenameSave),
            Some(Event::Rename(7, "Sunday piano".into()))
        );
        assert_eq!(s.scene(7).map(|x| x.name.as_str()), Some("Sunday piano"));
        // A refit that removed the scene ends a rename in progress.
        s.update(Message::Rename(7));
        s.set(Ok((
            SceneUpdate {
                fit: None,
                folded_in: 0,
            },
            vec![],
        )));
        assert!(s.renaming.is_none());
        // While a fit runs, another is not asked for.
        s.set_busy(true);
        assert_eq!(s.update(Message::Refit), None);
    }
}
