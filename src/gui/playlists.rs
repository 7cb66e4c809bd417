//! The Playlists screen: the kept playlists on the left; the open one on the right with its
//! recipe, its tracks (move up, move down, remove), and Play, Export M3U8, Rename, Delete.
//! Edits show at once and are stored in the background (the app sends them on as events).

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{alignment, Element, Length};

use super::detail::muted_text;
use super::theme;
use crate::library::BrowseRow;
use crate::playlists::{Playlist, PlaylistSummary, Size};

/// Room on the right of a scrolled list, so its scrollbar never covers the last column.
pub const SCROLLBAR_GUTTER: iced::Padding = iced::Padding {
    top: 0.0,
    right: 16.0,
    bottom: 0.0,
    left: 0.0,
};

#[derive(Debug, Clone, Default)]
pub struct State {
    list: Vec<PlaylistSummary>,
    open: Option<Playlist>,
    /// The name being edited.
    name: String,
    confirm_delete: bool,
    /// The last export, or why a playlist could not be made or kept.
    status: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Select(i64),
    NameInput(String),
    Rename,
    Delete,
    CancelDelete,
    MoveUp(usize),
    MoveDown(usize),
    Remove(usize),
    /// Play from this position (0: the start).
    Play(usize),
    Export,
    DismissStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Load this playlist's tracks.
    Open(i64),
    Rename(i64, String),
    /// Store this order (moves and removals).
    SetTracks(i64, Vec<i64>),
    Delete(i64),
    /// Play these tracks from `index`: they become the queue.
    Play(Vec<BrowseRow>, usize),
    /// Write this playlist as M3U8 (the app picks the file).
    Export(i64, String),
}

impl State {
    pub fn list(&self) -> &[PlaylistSummary] {
        &self.list
    }

    pub fn open(&self) -> Option<&Playlist> {
        self.open.as_ref()
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    pub fn set_status(&mut self, s: impl Into<String>) {
        self.status = Some(s.into());
    }

    /// The kept playlists arrived. The open one stays open if it still exists.
    pub fn set_list(&mut self, list: Vec<PlaylistSummary>) {
        if let Some(open) = &self.open {
            if !list.iter().any(|p| p.id == open.summary.id) {
                self.open = None;
            }
        }
        self.list = list;
    }

    /// A playlist's tracks arrived (`None`: it was deleted meanwhile).
    pub fn set_open(&mut self, p: Option<Playlist>) {
        if let Some(p) = &p {
            self.name = p.summary.name.clone();
        }
        self.confirm_delete = false;
        self.open = p;
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Select(id) => {
                if self.open.as_ref().map(|p| p.summary.id) != Some(id) {
                    self.confirm_delete = false;
                }
                Some(Event::Open(id))
            }
            Message::NameInput(s) => {
                self.name = s;
                None
            }
            Message::Rename => {
                let p = self.open.as_mut()?;
                let name = self.name.trim().to_string();
                if name.is_empty() || name == p.summary.name {
                    return None;
                }
                p.summary.name = name.clone();
                if let Some(s) = self.list.iter_mut().find(|s| s.id == p.summary.id) {
                    s.name = name.clone();
                }
                Some(Event::Rename(p.summary.id, name))
            }
            Message::Delete => {
                let id = self.open.as_ref()?.summary.id;
                if !self.confirm_delete {
                    // Asks once more: deleting cannot be undone.
                    self.confirm_delete = true;
                    return None;
                }
                self.confirm_delete = false;
                self.open = None;
                self.list.retain(|p| p.id != id);
                Some(Event::Delete(id))
            }
            Message::CancelDelete => {
                self.confirm_delete = false;
                None
            }
            Message::MoveUp(i) if i > 0 => self.edit(|t| t.swap(i - 1, i)),
            Message::MoveDown(i) => {
                let len = self.open.as_ref()?.tracks.len();
                if i + 1 < len {
                    self.edit(|t| t.swap(i, i + 1))
                } else {
                    None
                }
            }
            Message::MoveUp(_) => None,
            Message::Remove(i) => {
                let len = self.open.as_ref()?.tracks.len();
                if i < len {
                    self.edit(|t| {
                        t.remove(i);
                    })
                } else {
                    None
                }
            }
            Message::Play(i) => {
                let p = self.open.as_ref()?;
                (i < p.tracks.len()).then(|| Event::Play(p.tracks.clone(), i))
            }
            Message::Export => {
                let p = self.open.as_ref()?;
                Some(Event::Export(p.summary.id, p.summary.name.clone()))
            }
            Message::DismissStatus => {
                self.status = None;
                None
            }
        }
    }

    /// Changes the open playlist's tracks here and asks for the change to be stored.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<BrowseRow>)) -> Option<Event> {
        let p = self.open.as_mut()?;
        f(&mut p.tracks);
        p.summary.tracks = p.tracks.len();
        p.summary.duration_secs = p.tracks.iter().filter_map(|t| t.duration_secs).sum();
        if let Some(s) = self.list.iter_mut().find(|s| s.id == p.summary.id) {
            s.tracks = p.summary.tracks;
            s.duration_secs = p.summary.duration_secs;
        }
        Some(Event::SetTracks(
            p.summary.id,
            p.tracks.iter().map(|t| t.id).collect(),
        ))
    }

    pub fn view(&self) -> Element<'_, Message> {
        let open_id = self.open.as_ref().map(|p| p.summary.id);
        let items: Vec<Element<'_, Message>> = self
            .list
            .iter()
            .map(|p| {
                button(
                    column![
                        text(p.name.clone())
                            .size(theme::TEXT_BODY)
                            .wrapping(text::Wrapping::None),
                        text(format!(
                            "{} tracks · {}",
                            p.tracks,
                            super::fmt_time(p.duration_secs)
                        ))
                        .size(theme::TEXT_SMALL)
                        .style(muted_text),
                    ]
                    .spacing(2),
                )
                .width(Length::Fill)
                .padding([6.0, 10.0])
                .style(if Some(p.id) == open_id {
                    button::secondary
                } else {
                    theme::flat
                })
                .on_press(Message::Select(p.id))
                .into()
            })
            .collect();
        let list: Element<'_, Message> = if items.is_empty() {
            text("No playlists yet. Make one from a mood chip in the library, from your mood now, or with “More like this” on a track.")
                .size(theme::TEXT_SMALL)
                .style(muted_text)
                .into()
        } else {
            scrollable(column(items).spacing(2).padding(SCROLLBAR_GUTTER))
                .height(Length::Fill)
                .into()
        };
        let left = container(column![section("Playlists"), list].spacing(theme::SPACE_S))
            .width(Length::Fixed(280.0))
            .height(Length::Fill)
            .padding(theme::SPACE_M);

        let mut right = column![].spacing(theme::SPACE_M);
        if let Some(s) = &self.status {
            right = right.push(
                container(
                    row![
                        text(s.clone()).size(theme::TEXT_SMALL).width(Length::Fill),
                        button(text("Dismiss").size(theme::TEXT_SMALL))
                            .style(theme::flat)
                            .on_press(Message::DismissStatus),
                    ]
                    .align_y(alignment::Vertical::Center),
                )
                .padding([6.0, theme::SPACE_M])
                .width(Length::Fill)
                .style(theme::panel),
            );
        }
        match &self.open {
            None => {
                right = right.push(
                    container(
                        text("Choose a playlist to see its tracks.")
                            .size(theme::TEXT_BODY)
                            .style(muted_text),
                    )
                    .center(Length::Fill),
                );
            }
            Some(p) => right = right.push(self.contents(p)),
        }
        row![
            left,
            container(right)
                .width(Length::Fill)
                .height(Length::Fill)
                .padding(theme::SPACE_M)
        ]
        .height(Length::Fill)
        .into()
    }

    fn contents<'a>(&'a self, p: &'a Playlist) -> Element<'a, Message> {
        let small = |s: &'static str| text(s).size(theme::TEXT_SMALL);
        let delete: Element<'_, Message> = if self.confirm_delete {
            row![
                button(small("Really delete"))
                    .style(button::danger)
                    .padding([6.0, 10.0])
                    .on_press(Message::Delete),
                button(small("Keep"))
                    .style(theme::flat)
                    .padding([6.0, 10.0])
                    .on_press(Message::CancelDelete),
            ]
            .spacing(theme::SPACE_XS)
            .into()
        } else {
            button(small("Delete"))
                .style(theme::flat)
                .padding([6.0, 10.0])
                .on_press(Message::Delete)
                .into()
        };
        let has_tracks = !p.tracks.is_empty();
        let head = row![
            text_input("Playlist name", &self.name)
                .on_input(Message::NameInput)
                .on_submit(Message::Rename)
                .size(theme::TEXT_BODY)
                .padding([6.0, 10.0])
                .width(Length::Fill)
                .style(theme::search_input),
            button(small("Rename"))
                .style(theme::flat)
                .padding([6.0, 10.0])
                .on_press_maybe(
                    (self.name.trim() != p.summary.name && !self.name.trim().is_empty())
                        .then_some(Message::Rename)
                ),
            button(text("▶ Play").size(theme::TEXT_BODY))
                .style(button::primary)
                .padding([6.0, 14.0])
                .on_press_maybe(has_tracks.then_some(Message::Play(0))),
            button(small("Export M3U8"))
                .style(button::secondary)
                .padding([6.0, 10.0])
                .on_press_maybe(has_tracks.then_some(Message::Export)),
            delete,
        ]
        .spacing(theme::SPACE_S)
        .align_y(alignment::Vertical::Center);
        let recipe = match &p.summary.recipe {
            Some(r) => format!(
                "Made for {} · {} · variety {:.1} · seed {}",
                r.target.describe(),
                match r.size {
                    Size::Count(n) => format!("{n} tracks"),
                    Size::Minutes(m) => format!("{m} minutes"),
                },
                r.variety,
                r.seed
            ),
            None => "Imported".into(),
        };
        let info = text(format!(
            "{} tracks · {} · {recipe}",
            p.summary.tracks,
            super::fmt_time(p.summary.duration_secs)
        ))
        .size(theme::TEXT_SMALL)
        .style(muted_text);
        let n = p.tracks.len();
        let rows: Vec<Element<'_, Message>> = p
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mood = super::widgets::badge(t.mood.as_ref());
                let icon = |s: &'static str, m: Option<Message>| {
                    button(text(s).size(theme::TEXT_SMALL))
                        .style(theme::flat)
                        .padding([2.0, 6.0])
                        .on_press_maybe(m)
                };
                row![
                    text(format!("{}.", i + 1))
                        .size(theme::TEXT_SMALL)
                        .style(muted_text)
                        .width(Length::Fixed(32.0)),
                    button(
                        text(t.title.clone())
                            .size(theme::TEXT_BODY)
                            .wrapping(text::Wrapping::None)
                    )
                    .style(theme::flat)
                    .padding([2.0, 4.0])
                    .width(Length::FillPortion(3))
                    .on_press(Message::Play(i)),
                    text(t.artist.clone())
                        .size(theme::TEXT_SMALL)
                        .wrapping(text::Wrapping::None)
                        .style(muted_text)
                        .width(Length::FillPortion(2)),
                    text(t.duration_secs.map(super::fmt_time).unwrap_or_default())
                        .size(theme::TEXT_SMALL)
                        .width(Length::Fixed(48.0)),
                    container(mood).width(Length::Fixed(90.0)),
                    icon("↑", (i > 0).then_some(Message::MoveUp(i))),
                    icon("↓", (i + 1 < n).then_some(Message::MoveDown(i))),
                    icon("✕", Some(Message::Remove(i))),
                ]
                .spacing(theme::SPACE_S)
                .align_y(alignment::Vertical::Center)
                .into()
            })
            .collect();
        column![
            head,
            info,
            scrollable(column(rows).spacing(2).padding(SCROLLBAR_GUTTER)).height(Length::Fill)
        ]
        .spacing(theme::SPACE_M)
        .into()
    }
}

/// A small section heading.
pub fn section<'a, M: 'a>(s: &'a str) -> Element<'a, M> {
    text(s).size(theme::TEXT_SMALL).style(muted_text).into()
}
