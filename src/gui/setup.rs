//! First run: the library is empty, so ask which folders hold music (the XDG music folder
//! is suggested), then scan and analyse them in the background.

use std::path::PathBuf;

use iced::widget::{button, column, container, row, space, text, text_input};
use iced::{alignment, Element, Length};

use super::theme;

#[derive(Debug, Clone, Default)]
pub struct State {
    input: String,
    folders: Vec<PathBuf>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Input(String),
    Add,
    Remove(usize),
    Start,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Scan(Vec<PathBuf>),
}

impl State {
    /// Suggests the user's music folder when there is one.
    pub fn new(suggested: Option<PathBuf>) -> Self {
        Self {
            input: String::new(),
            folders: suggested.into_iter().collect(),
            error: None,
        }
    }

    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Input(s) => {
                self.input = s;
                self.error = None;
                None
            }
            Message::Add => {
                let raw = self.input.trim();
                if raw.is_empty() {
                    return None;
                }
                let path = expand_home(raw);
                if !path.is_dir() {
                    self.error = Some(format!("{} is not a folder", path.display()));
                } else if !self.folders.contains(&path) {
                    self.folders.push(path);
                    self.input.clear();
                    self.error = None;
                }
                None
            }
            Message::Remove(i) => {
                if i < self.folders.len() {
                    self.folders.remove(i);
                }
                None
            }
            Message::Start => {
                if self.folders.is_empty() {
                    self.error = Some("Add at least one folder".into());
                    None
                } else {
                    Some(Event::Scan(self.folders.clone()))
                }
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let folders = column(self.folders.iter().enumerate().map(|(i, f)| {
            container(
                row![
                    text(f.display().to_string())
                        .size(theme::TEXT_BODY)
                        .width(Length::Fill),
                    button(text("Remove").size(theme::TEXT_SMALL))
                        .style(theme::flat)
                        .on_press(Message::Remove(i)),
                ]
                .spacing(theme::SPACE_S)
                .align_y(alignment::Vertical::Center),
            )
            .padding([6.0, theme::SPACE_M])
            .style(theme::card)
            .into()
        }))
        .spacing(theme::SPACE_S);
        let add = row![
            text_input("/path/to/music", &self.input)
                .on_input(Message::Input)
                .on_submit(Message::Add)
                .padding([8.0, 10.0])
                .size(theme::TEXT_BODY)
                .style(theme::search_input),
            button(text("Add folder").size(theme::TEXT_BODY))
                .padding([8.0, 14.0])
                .style(button::secondary)
                .on_press(Message::Add),
        ]
        .spacing(theme::SPACE_S);
        let mut col = column![
            text("Welcome to Valence").size(theme::TEXT_DISPLAY),
            text("Choose the folders that hold your music. Valence reads them, then listens to every track in the background and tags it with its mood.")
                .size(theme::TEXT_BODY)
                .style(super::detail::muted_text),
            space().height(theme::SPACE_S),
            text("MUSIC FOLDERS").size(theme::TEXT_SMALL).style(super::detail::muted_text),
            folders,
            add,
        ]
        .spacing(theme::SPACE_M)
        .max_width(640);
        if let Some(e) = &self.error {
            col = col.push(
                text(e.clone())
                    .size(theme::TEXT_SMALL)
                    .style(theme::danger_text),
            );
        }
        col = col.push(row![
            space::horizontal(),
            button(text("Scan and analyse").size(theme::TEXT_BODY))
                .padding([10.0, 20.0])
                .style(button::primary)
                .on_press_maybe((!self.folders.is_empty()).then_some(Message::Start)),
        ]);
        container(col)
            .center(Length::Fill)
            .padding(theme::SPACE_L)
            .into()
    }
}

/// `~/Music` typed by hand means the home folder.
fn expand_home(raw: &str) -> PathBuf {
    if let Some(rest) = raw.strip_prefix("~/") {
        if let Some(home) = directories::UserDirs::new().map(|u| u.home_dir().to_path_buf()) {
            return home.join(rest);
        }
    }
    PathBuf::from(raw)
}
