//! The track detail pane: spectrogram, emotion timeline chart, the track on the
//! valence-arousal plane, top tags, and why a file could not be analysed.

use iced::widget::{button, canvas, checkbox, column, container, row, scrollable, space, text};
use iced::{alignment, Element, Length};

use super::backend::{BackendError, DetailData};
use super::theme;
use super::widgets::{self, timeline::EmotionChart, va_plane::VaPlane};
use crate::mood::Quadrant;

#[derive(Debug, Clone, Default)]
pub struct State {
    pub id: Option<i64>,
    pub data: Option<DetailData>,
    pub error: Option<BackendError>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Play(i64),
    MoreLike(i64),
    /// "Never in playlists" ticked or cleared.
    NeverInPlaylists(i64, bool),
    Close,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Play(i64),
    /// A playlist of tracks like this one.
    MoreLike(i64),
    /// Keep this track out of made playlists (or let it back in).
    NeverInPlaylists(i64, bool),
    Close,
}

impl State {
    /// A new track was selected: forget the old one until its data arrives.
    pub fn show(&mut self, id: i64) {
        if self.id != Some(id) {
            self.id = Some(id);
            self.data = None;
            self.error = None;
        }
    }

    pub fn loaded(&mut self, result: Result<DetailData, BackendError>) {
        match result {
            // A late answer for a track no longer selected is dropped.
            Ok(d) if Some(d.id) == self.id => {
                self.data = Some(d);
                self.error = None;
            }
            Ok(_) => {}
            Err(e) => self.error = Some(e),
        }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Play(id) => Some(Event::Play(id)),
            Message::MoreLike(id) => Some(Event::MoreLike(id)),
            Message::NeverInPlaylists(id, never) => {
                // Shown at once; the app stores it.
                if let Some(d) = self.data.as_mut().filter(|d| d.id == id) {
                    d.never_in_playlists = never;
                }
                Some(Event::NeverInPlaylists(id, never))
            }
            Message::Close => {
                *self = State::default();
                Some(Event::Close)
            }
        }
    }

    pub fn view<'a>(&'a self, row: Option<&'a crate::library::BrowseRow>) -> Element<'a, Message> {
        let Some(id) = self.id else {
            return space().into();
        };
        let title = row.map(|r| r.title.as_str()).unwrap_or("");
        let artist = row
            .map(|r| {
                if r.album.is_empty() {
                    r.artist.clone()
                } else {
                    format!("{} — {}", r.artist, r.album)
                }
            })
            .unwrap_or_default();
        let head = row![
            column![
                text(title).size(theme::TEXT_TITLE).font(bold()),
                text(artist).size(theme::TEXT_BODY).style(muted_text),
            ]
            .spacing(2)
            .width(Length::Fill),
            button(text("▶ Play").size(theme::TEXT_BODY))
                .padding([6.0, 14.0])
                .style(button::primary)
                .on_press(Message::Play(id)),
            button(text("More like this").size(theme::TEXT_SMALL))
                .padding([6.0, 10.0])
                .style(button::secondary)
                .on_press_maybe(row.and_then(|r| r.mood).map(|_| Message::MoreLike(id))),
            button(text("×").size(theme::TEXT_BODY))
                .padding([6.0, 10.0])
                .style(theme::flat)
                .on_press(Message::Close),
        ]
        .spacing(theme::SPACE_S)
        .align_y(alignment::Vertical::Center);

        let mut body = column![head].spacing(theme::SPACE_L);

        if let Some(e) = &self.error {
            body = body.push(error_box("Could not load this track", e.to_string()));
        }
        match &self.data {
            None if self.error.is_none() => {
                body = body.push(text("Loading…").size(theme::TEXT_BODY).style(muted_text));
            }
            None => {}
            Some(d) => {
                // Files that could not be read, then files that could not be analysed.
                if let Some(reason) = d.track.as_ref().and_then(|t| t.error.clone()) {
                    body = body.push(error_box("This file could not be read", reason));
                }
                let analysis = d.analysis.as_ref();
                if let Some(reason) = analysis.and_then(|a| a.error.clone()) {
                    body = body.push(error_box("This track could not be analysed", reason));
                }
                match analysis.and_then(|a| a.data.as_ref()) {
                    Some(a) => {
                        let mood = a.mood();
                        let q = mood.quadrant;
                        let headline = row![
                            widgets::badge(Some(&mood)),
                            text(format!(
                                "{q} {} ({:.0} %)",
                                q.description(),
                                100.0 * mood.confidence()
                            ))
                            .size(theme::TEXT_BODY),
                        ]
                        .spacing(theme::SPACE_S)
                        .align_y(alignment::Vertical::Center);
                        // The numbers (and the uncertainty) on lines of their own: the pane is
                        // too narrow to keep them beside the headline without wrapping.
                        let mut summary = column![
                            headline,
                            text(format!(
                                "valence {:+.2}   arousal {:+.2}",
                                a.valence, a.arousal
                            ))
                            .size(theme::TEXT_SMALL)
                            .style(muted_text),
                        ]
                        .spacing(4);
                        if mood.is_uncertain() {
                            let r = mood.runner_up();
                            summary = summary.push(
                                text(format!(
                                    "Uncertain: the point lies near an axis; or {r} {} ({:.0} %)",
                                    r.label(),
                                    100.0 * mood.probs[r.index()]
                                ))
                                .size(theme::TEXT_SMALL)
                                .style(muted_text),
                            );
                        }
                        summary = summary.push(
                            checkbox(d.never_in_playlists)
                                .label("Never in playlists")
                                .text_size(theme::TEXT_SMALL)
                                .size(14)
                                .on_toggle(move |on| Message::NeverInPlaylists(id, on)),
                        );
                        body = body.push(summary);
                        if let Some(h) = &d.spectrogram {
                            body =
                                body.push(section("Spectrogram", widgets::spectrogram(h, 120.0)));
                        }
                        body = body.push(section(
                            "Emotion over time",
                            column![
                                canvas(EmotionChart {
                                    timeline: &a.timeline,
                                    duration: a.duration_s,
                                })
                                .width(Length::Fill)
                                .height(Length::Fixed(150.0)),
                                legend(),
                            ]
                            .spacing(theme::SPACE_S)
                            .into(),
                        ));
                        let plane = canvas(VaPlane {
                            valence: a.valence,
                            arousal: a.arousal,
                            quadrant: q,
                            timeline: &a.timeline,
                        })
                        .width(Length::Fill)
                        .height(Length::Fixed(240.0));
                        body = body.push(section("Valence–arousal", plane.into()));
                        let tags = column(a.top_tags.iter().take(8).map(|(tag, p)| {
                            row![
                                text(tag.clone()).size(theme::TEXT_BODY).width(Length::Fill),
                                text(format!("{:.0}%", p * 100.0))
                                    .size(theme::TEXT_SMALL)
                                    .style(muted_text),
                            ]
                            .into()
                        }))
                        .spacing(theme::SPACE_XS);
                        body = body.push(section("Top tags", tags.into()));
                        if !d.scenes.is_empty() {
                            let scenes = column(d.scenes.iter().map(|s| {
                                row![
                                    text(s.name.clone())
                                        .size(theme::TEXT_BODY)
                                        .width(Length::Fill),
                                    text(format!("{:.0}%", s.share * 100.0))
                                        .size(theme::TEXT_SMALL)
                                        .style(muted_text),
                                ]
                                .into()
                            }))
                            .spacing(theme::SPACE_XS);
                            body = body.push(section("Theme scenes", scenes.into()));
                        }
                    }
                    None if analysis.and_then(|a| a.error.as_ref()).is_none()
                        && d.track.as_ref().and_then(|t| t.error.as_ref()).is_none() =>
                    {
                        body = body.push(
                            text("Not analysed yet: the mood appears when the analysis reaches this track.")
                                .size(theme::TEXT_BODY)
                                .style(muted_text),
                        );
                    }
                    None => {}
                }
                if let Some(t) = &d.track {
                    body = body.push(
                        text(t.path.display().to_string())
                            .size(theme::TEXT_SMALL)
                            .style(muted_text),
                    );
                }
            }
        }
        container(scrollable(container(body).padding(theme::SPACE_L)).height(Length::Fill))
            .width(Length::Fixed(420.0))
            .height(Length::Fill)
            .style(theme::panel)
            .into()
    }
}

fn bold() -> iced::Font {
    iced::Font {
        weight: iced::font::Weight::Semibold,
        ..iced::Font::with_name(super::FONT_NAME)
    }
}

pub fn muted_text(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::muted(t)),
    }
}

fn section<'a, M: 'a>(title: &'a str, content: Element<'a, M>) -> Element<'a, M> {
    column![
        text(title.to_uppercase())
            .size(theme::TEXT_SMALL)
            .font(bold())
            .style(muted_text),
        content
    ]
    .spacing(theme::SPACE_S)
    .into()
}

fn legend<'a, M: 'a>() -> Element<'a, M> {
    let swatch = |c: iced::Color, label: String| -> Element<'a, M> {
        row![
            container(space().width(10).height(10)).style(move |_| container::Style {
                background: Some(c.into()),
                border: iced::border::rounded(2),
                ..container::Style::default()
            }),
            text(label).size(theme::TEXT_SMALL),
        ]
        .spacing(4)
        .align_y(alignment::Vertical::Center)
        .into()
    };
    let mut r = row![].spacing(theme::SPACE_M);
    for q in Quadrant::ALL {
        r = r.push(swatch(theme::quadrant_color(q), q.to_string()));
    }
    r = r.push(text("— valence").size(theme::TEXT_SMALL));
    r = r.push(text("— arousal").size(theme::TEXT_SMALL).color(theme::Q2));
    r.into()
}

pub fn error_box<'a, M: 'a>(title: &'a str, reason: String) -> Element<'a, M> {
    container(
        column![
            text(title).size(theme::TEXT_BODY).font(bold()),
            text(reason).size(theme::TEXT_SMALL),
        ]
        .spacing(2),
    )
    .padding(theme::SPACE_M)
    .width(Length::Fill)
    .style(theme::error_banner)
    .into()
}
