//! The journey panel beside the map: where a journey starts and ends, how long, its shape
//! and step limit; the planned tracks (swap one for the next best, lock it, regenerate the
//! rest, play); and the session it is kept as (name, client label, notes, the before and
//! after check-ins, export), with the saved sessions below.

use iced::widget::{
    button, column, container, row, rule, scrollable, space, text, text_editor, text_input,
};
use iced::{alignment, Element, Font, Length};

use super::detail::muted_text;
use super::playlists::SCROLLBAR_GUTTER;
use super::theme;
use super::widgets::map_canvas::{Ends, JourneyMark};
use super::{fmt_time, FONT_NAME};
use crate::mood::Quadrant;
use crate::playlists::history::fmt_utc;
use crate::playlists::journey::DEFAULT_MAX_STEP;
use crate::playlists::{
    CheckIn, JourneyEnd, JourneyRequest, JourneySpec, Length as JourneyLength, NewSession,
    PlannedJourney, Session, SessionItem, SessionStop, SessionSummary, Shape, When,
};

/// Where the journey starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    MoodNow,
    Picked,
    Track,
}

/// Where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Quadrant(Quadrant),
    Picked,
    Track,
}

/// The journey on show: planned now, or a saved session's.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub request: JourneyRequest,
    pub items: Vec<SessionItem>,
    pub mean_seam_jump: Option<f32>,
}

impl Current {
    pub fn total_secs(&self) -> f64 {
        self.items
            .iter()
            .map(|i| i.stop.duration_secs.max(0.0))
            .sum()
    }

    /// The track ids, when every track is still in the library.
    pub fn track_ids(&self) -> Option<Vec<i64>> {
        self.items.iter().map(|i| i.stop.track_id).collect()
    }

    pub fn locked(&self) -> Vec<bool> {
        self.items.iter().map(|i| i.stop.locked).collect()
    }
}

pub struct State {
    from: From,
    to: To,
    minutes: String,
    by_count: bool,
    count: String,
    shape: Shape,
    max_step: String,
    picked: Option<(f32, f32)>,
    track: Option<(i64, String)>,
    mood_now: Option<(f32, f32)>,
    current: Option<Current>,
    /// `current` as the map draws it.
    marks: Vec<JourneyMark>,
    busy: bool,
    status: Option<String>,
    /// The kept session this journey is (None: not saved yet).
    session: Option<i64>,
    name: String,
    client: String,
    notes: text_editor::Content,
    /// The next click on the map records this check-in.
    checking_in: Option<When>,
    before: Option<CheckIn>,
    after: Option<CheckIn>,
    sessions: Vec<SessionSummary>,
    confirm_delete: Option<i64>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            from: From::MoodNow,
            to: To::Quadrant(Quadrant::Q4),
            minutes: "30".into(),
            by_count: false,
            count: "8".into(),
            shape: Shape::Direct,
            max_step: format!("{DEFAULT_MAX_STEP:.2}"),
            picked: None,
            track: None,
            mood_now: None,
            current: None,
            marks: Vec::new(),
            busy: false,
            status: None,
            session: None,
            name: String::new(),
            client: String::new(),
            notes: text_editor::Content::new(),
            checking_in: None,
            before: None,
            after: None,
            sessions: Vec::new(),
            confirm_delete: None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    From(From),
    To(To),
    Minutes(String),
    ByCount(bool),
    Count(String),
    Shape(Shape),
    MaxStep(String),
    Plan,
    Swap(usize),
    Lock(usize),
    Regenerate,
    Play(usize),
    Name(String),
    Client(String),
    Notes(text_editor::Action),
    CheckIn(When),
    ClearCheckIn(When),
    Save,
    Export,
    NewSession,
    Open(i64),
    Delete(i64),
    ConfirmDelete(Option<i64>),
}

/// What the panel asks of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Plan(JourneySpec),
    /// Swap the track at this place (the request and the track ids it is planned from).
    Swap(JourneyRequest, Vec<i64>, usize),
    Regenerate(JourneyRequest, Vec<i64>, Vec<bool>),
    /// Play these tracks from `index`.
    Play(Vec<SessionItem>, usize),
    /// Keep a new session.
    Save(NewSession, [Option<CheckIn>; 2]),
    /// Store the open session's name, client, notes and tracks.
    Update {
        id: i64,
        name: String,
        client: Option<String>,
        notes: String,
        stops: Vec<SessionStop>,
    },
    /// Store (or clear) a check-in of the open session.
    CheckIn(i64, When, Option<(f32, f32)>),
    Export(i64),
    Open(i64),
    Delete(i64),
}

fn parse_in<T: std::str::FromStr + PartialOrd>(s: &str, lo: T, hi: T) -> Option<T> {
    s.trim().parse::<T>().ok().filter(|x| *x >= lo && *x <= hi)
}

impl State {
    pub fn current(&self) -> Option<&Current> {
        self.current.as_ref()
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    pub fn session(&self) -> Option<i64> {
        self.session
    }

    pub fn sessions(&self) -> &[SessionSummary] {
        &self.sessions
    }

    pub fn check_ins(&self) -> [Option<CheckIn>; 2] {
        [self.before, self.after]
    }

    /// Every point the journey's drawing covers (for fitting the map to it).
    pub fn extent(&self) -> Vec<(f32, f32)> {
        let mut out: Vec<(f32, f32)> = self
            .marks
            .iter()
            .flat_map(|m| [m.mean, m.start, m.end])
            .collect();
        if let Some(c) = &self.current {
            out.extend([c.request.from, c.request.to]);
        }
        out
    }

    /// A check-in is waiting for a click on the map.
    pub fn checking_in(&self) -> Option<When> {
        self.checking_in
    }

    pub fn set_picked(&mut self, p: Option<(f32, f32)>) {
        self.picked = p;
    }

    pub fn set_track(&mut self, t: Option<(i64, String)>) {
        self.track = t;
    }

    pub fn set_mood_now(&mut self, p: Option<(f32, f32)>) {
        self.mood_now = p;
    }

    pub fn set_status(&mut self, s: impl Into<String>) {
        self.busy = false;
        self.status = Some(s.into());
    }

    pub fn set_sessions(&mut self, list: Vec<SessionSummary>) {
        self.sessions = list;
    }

    /// A journey was planned or changed; locks carry over by place.
    pub fn set_planned(&mut self, p: PlannedJourney, locked: &[bool]) {
        self.busy = false;
        self.status = None;
        let items = p
            .rows
            .iter()
            .zip(&p.stops)
            .enumerate()
            .map(|(i, (r, s))| SessionItem {
                stop: SessionStop::from_stop(s, r.title.clone(), locked.get(i) == Some(&true)),
                path: Some(r.path.clone()),
            })
            .collect();
        self.set_current(Some(Current {
            request: p.request,
            items,
            mean_seam_jump: Some(p.journey.mean_seam_jump),
        }));
    }

    /// A saved session was opened.
    pub fn set_session(&mut self, s: Session) {
        self.busy = false;
        self.status = None;
        self.session = Some(s.summary.id);
        self.name = s.summary.name;
        self.client = s.summary.client.unwrap_or_default();
        self.notes = text_editor::Content::with_text(&s.notes);
        self.before = s.before;
        self.after = s.after;
        self.checking_in = None;
        self.set_current(Some(Current {
            request: s.request,
            items: s.items,
            mean_seam_jump: None,
        }));
    }

    /// The session was kept under `id`.
    pub fn set_saved(&mut self, id: i64) {
        self.session = Some(id);
        self.status = Some("Session saved".into());
    }

    /// What the map draws: the tracks with their arrows, the asked start and target.
    pub fn marks(&self) -> (&[JourneyMark], Option<Ends>) {
        (
            &self.marks,
            self.current
                .as_ref()
                .map(|c| (c.request.from, c.request.to)),
        )
    }

    fn set_current(&mut self, c: Option<Current>) {
        self.marks = c.as_ref().map(|c| marks(&c.items)).unwrap_or_default();
        self.current = c;
    }

    /// A click on the map: a check-in when one is waiting for it (answers its event).
    pub fn on_pick(&mut self, v: f32, a: f32) -> Option<Event> {
        let Some(when) = self.checking_in.take() else {
            self.picked = Some((v, a));
            return None;
        };
        self.status = Some(format!(
            "Recorded how the listener feels {}",
            when_word(when)
        ));
        let c = CheckIn {
            valence: v,
            arousal: a,
            at: crate::library::store::now_secs(),
        };
        match when {
            When::Before => self.before = Some(c),
            When::After => self.after = Some(c),
        }
        self.session
            .map(|id| Event::CheckIn(id, when, Some((v, a))))
    }

    fn spec(&self) -> Result<JourneySpec, String> {
        let track = || {
            self.track
                .as_ref()
                .map(|(id, _)| JourneyEnd::Track(*id))
                .ok_or("Click a track on the map first")
        };
        let picked = || {
            self.picked
                .map(|(v, a)| JourneyEnd::Point(v, a))
                .ok_or("Click the map where the journey should go first")
        };
        let from = match self.from {
            From::MoodNow => JourneyEnd::Now,
            From::Picked => picked()?,
            From::Track => track()?,
        };
        let to = match self.to {
            To::Quadrant(q) => JourneyEnd::Quadrant(q),
            To::Picked => picked()?,
            To::Track => track()?,
        };
        let length = if self.by_count {
            JourneyLength::Count(
                parse_in(&self.count, 2usize, 200).ok_or("The number of tracks is 2 to 200")?,
            )
        } else {
            JourneyLength::Minutes(
                parse_in(&self.minutes, 5.0f64, 600.0).ok_or("The length is 5 to 600 minutes")?,
            )
        };
        let max_step =
            parse_in(&self.max_step, 0.05f32, 2.0).ok_or("The step limit is 0.05 to 2.00")?;
        Ok(JourneySpec {
            from,
            to,
            length,
            shape: self.shape,
            max_step,
            // The same library and request, the same journey; "Regenerate" varies it.
            seed: 0,
        })
    }

    fn client(&self) -> Option<String> {
        Some(self.client.trim().to_string()).filter(|c| !c.is_empty())
    }

    fn notes_text(&self) -> String {
        // The editor keeps a final newline; the stored notes do not.
        self.notes.text().trim_end().to_string()
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::From(f) => self.from = f,
            Message::To(t) => self.to = t,
            Message::Minutes(s) => self.minutes = s,
            Message::ByCount(b) => self.by_count = b,
            Message::Count(s) => self.count = s,
            Message::Shape(s) => self.shape = s,
            Message::MaxStep(s) => self.max_step = s,
            Message::Plan => match self.spec() {
                Ok(spec) => {
                    self.busy = true;
                    self.status = Some("Planning…".into());
                    return Some(Event::Plan(spec));
                }
                Err(e) => self.status = Some(e),
            },
            Message::Swap(i) | Message::Lock(i) | Message::Play(i)
                if self.current.as_ref().is_none_or(|c| i >= c.items.len()) => {}
            Message::Swap(i) => {
                let c = self.current.as_ref()?;
                match c.track_ids() {
                    Some(ids) => {
                        self.busy = true;
                        return Some(Event::Swap(c.request.clone(), ids, i));
                    }
                    None => self.status = Some(LEFT.into()),
                }
            }
            Message::Lock(i) => {
                let c = self.current.as_mut()?;
                let s = &mut c.items[i].stop;
                s.locked = !s.locked;
                if let Some(m) = self.marks.get_mut(i) {
                    m.locked = s.locked;
                }
            }
            Message::Regenerate => {
                let c = self.current.as_ref()?;
                match c.track_ids() {
                    Some(ids) => {
                        self.busy = true;
                        return Some(Event::Regenerate(c.request.clone(), ids, c.locked()));
                    }
                    None => self.status = Some(LEFT.into()),
                }
            }
            Message::Play(i) => {
                let c = self.current.as_ref()?;
                return Some(Event::Play(c.items.clone(), i));
            }
            Message::Name(s) => self.name = s,
            Message::Client(s) => self.client = s,
            Message::Notes(a) => self.notes.perform(a),
            Message::CheckIn(w) => {
                self.checking_in = Some(w);
                self.status = Some(format!(
                    "Click the map where the mood is {} the session",
                    when_word(w)
                ));
            }
            Message::ClearCheckIn(w) => {
                match w {
                    When::Before => self.before = None,
                    When::After => self.after = None,
                }
                return self.session.map(|id| Event::CheckIn(id, w, None));
            }
            Message::Save => {
                let c = self.current.as_ref()?;
                let name = self.name.trim().to_string();
                if name.is_empty() {
                    self.status = Some("Give the session a name first".into());
                    return None;
                }
                let stops: Vec<SessionStop> = c.items.iter().map(|i| i.stop.clone()).collect();
                return Some(match self.session {
                    Some(id) => Event::Update {
                        id,
                        name,
                        client: self.client(),
                        notes: self.notes_text(),
                        stops,
                    },
                    None => Event::Save(
                        NewSession {
                            name,
                            client: self.client(),
                            notes: self.notes_text(),
                            request: c.request.clone(),
                            stops,
                        },
                        [self.before, self.after],
                    ),
                });
            }
            Message::Export => return self.session.map(Event::Export),
            Message::NewSession => {
                let sessions = std::mem::take(&mut self.sessions);
                let (picked, track, mood) = (self.picked, self.track.clone(), self.mood_now);
                *self = Self {
                    sessions,
                    picked,
                    track,
                    mood_now: mood,
                    ..Self::default()
                };
            }
            Message::Open(id) => {
                self.busy = true;
                return Some(Event::Open(id));
            }
            Message::ConfirmDelete(id) => self.confirm_delete = id,
            Message::Delete(id) => {
                self.confirm_delete = None;
                if self.session == Some(id) {
                    self.session = None;
                }
                return Some(Event::Delete(id));
            }
        }
        None
    }

    pub fn view(&self) -> Element<'_, Message> {
        let body = column![
            self.ends_view(),
            self.length_view(),
            row![
                button(text("Plan journey").size(theme::TEXT_BODY))
                    .padding([6.0, 14.0])
                    .style(button::primary)
                    .on_press_maybe((!self.busy).then_some(Message::Plan)),
                space::horizontal(),
                button(text("New session").size(theme::TEXT_SMALL))
                    .padding([6.0, 10.0])
                    .style(theme::flat)
                    .on_press(Message::NewSession),
            ]
            .align_y(alignment::Vertical::Center),
        ]
        .spacing(theme::SPACE_S);
        let mut col = column![heading("Journey"), body].spacing(theme::SPACE_S);
        if let Some(s) = &self.status {
            col = col.push(text(s.clone()).size(theme::TEXT_SMALL).style(muted_text));
        }
        if let Some(c) = &self.current {
            col = col.push(rule::horizontal(1));
            col = col.push(self.tracks_view(c));
            col = col.push(rule::horizontal(1));
            col = col.push(self.session_view());
        }
        if !self.sessions.is_empty() {
            col = col.push(rule::horizontal(1));
            col = col.push(self.sessions_view());
        }
        container(scrollable(container(col).padding(SCROLLBAR_GUTTER)).height(Length::Fill))
            .width(Length::Fixed(400.0))
            .height(Length::Fill)
            .padding(theme::SPACE_M)
            .style(theme::panel)
            .into()
    }

    fn ends_view(&self) -> Element<'_, Message> {
        let choice = |label: String, on: bool, m: Message| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 8.0])
                .style(if on { button::secondary } else { theme::flat })
                .on_press(m)
        };
        let point = |p: Option<(f32, f32)>| match p {
            Some((v, a)) => format!("valence {v:+.2}, arousal {a:+.2}"),
            None => "click the map on an empty spot".into(),
        };
        let track = match &self.track {
            Some((_, t)) => t.clone(),
            None => "click a track on the map".into(),
        };
        let from_note = match self.from {
            From::MoodNow => point(self.mood_now).replace(
                "click the map on an empty spot",
                "not enough listening yet this week",
            ),
            From::Picked => point(self.picked),
            From::Track => track.clone(),
        };
        let to_note = match self.to {
            To::Quadrant(q) => format!("the clear {} of this library", q.label()),
            To::Picked => point(self.picked),
            To::Track => track,
        };
        let mut to_row = row![].spacing(2.0);
        for q in Quadrant::ALL {
            to_row = to_row.push(choice(
                q.to_string(),
                self.to == To::Quadrant(q),
                Message::To(To::Quadrant(q)),
            ));
        }
        to_row = to_row
            .push(choice(
                "Point".into(),
                self.to == To::Picked,
                Message::To(To::Picked),
            ))
            .push(choice(
                "Track".into(),
                self.to == To::Track,
                Message::To(To::Track),
            ));
        column![
            label("From"),
            row![
                choice(
                    "Mood now".into(),
                    self.from == From::MoodNow,
                    Message::From(From::MoodNow)
                ),
                choice(
                    "Point".into(),
                    self.from == From::Picked,
                    Message::From(From::Picked)
                ),
                choice(
                    "Track".into(),
                    self.from == From::Track,
                    Message::From(From::Track)
                ),
            ]
            .spacing(2.0),
            text(from_note).size(theme::TEXT_SMALL).style(muted_text),
            label("To"),
            to_row,
            text(to_note).size(theme::TEXT_SMALL).style(muted_text),
        ]
        .spacing(theme::SPACE_XS)
        .into()
    }

    fn length_view(&self) -> Element<'_, Message> {
        let small_input = |v: &str, m: fn(String) -> Message| {
            text_input("", v)
                .on_input(m)
                .on_submit(Message::Plan)
                .size(theme::TEXT_SMALL)
                .width(Length::Fixed(56.0))
                .padding(4.0)
        };
        let unit = |label: &'static str, on: bool, m: Message| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 8.0])
                .style(if on { button::secondary } else { theme::flat })
                .on_press(m)
        };
        let shape = |label: &'static str, s: Shape| {
            button(text(label).size(theme::TEXT_SMALL))
                .padding([4.0, 8.0])
                .style(if self.shape == s {
                    button::secondary
                } else {
                    theme::flat
                })
                .on_press(Message::Shape(s))
        };
        let amount = if self.by_count {
            small_input(&self.count, Message::Count)
        } else {
            small_input(&self.minutes, Message::Minutes)
        };
        column![
            row![
                label("Length"),
                amount,
                unit("minutes", !self.by_count, Message::ByCount(false)),
                unit("tracks", self.by_count, Message::ByCount(true)),
            ]
            .spacing(theme::SPACE_XS)
            .align_y(alignment::Vertical::Center),
            row![
                label("Path"),
                shape("Direct", Shape::Direct),
                shape("Arousal first", Shape::ArousalFirst),
                shape("Valence first", Shape::ValenceFirst),
            ]
            .spacing(2.0)
            .align_y(alignment::Vertical::Center),
            row![
                label("Largest step"),
                small_input(&self.max_step, Message::MaxStep),
                text("on the plane (−1…1)")
                    .size(theme::TEXT_SMALL)
                    .style(muted_text),
            ]
            .spacing(theme::SPACE_XS)
            .align_y(alignment::Vertical::Center),
        ]
        .spacing(theme::SPACE_XS)
        .into()
    }

    fn tracks_view<'a>(&'a self, c: &'a Current) -> Element<'a, Message> {
        let seam = c
            .mean_seam_jump
            .map(|s| format!(" · mean seam jump {s:.2}"))
            .unwrap_or_default();
        let mut list = column![text(format!(
            "{} tracks · {}{seam}",
            c.items.len(),
            fmt_time(c.total_secs())
        ))
        .size(theme::TEXT_SMALL)
        .style(muted_text)]
        .spacing(2.0);
        let mut at = 0.0;
        let live = !self.busy;
        for (i, it) in c.items.iter().enumerate() {
            let s = &it.stop;
            let q = Quadrant::of_point(s.mean.0, s.mean.1);
            let who = if s.artist.is_empty() {
                s.title.clone()
            } else {
                format!("{} — {}", s.title, s.artist)
            };
            let gone = it.path.is_none();
            let tiny = |label: &'static str, m: Option<Message>| {
                button(text(label).size(11.0))
                    .padding([2.0, 6.0])
                    .style(theme::flat)
                    .on_press_maybe(m)
            };
            list = list.push(
                row![
                    container(
                        text(format!("{}", i + 1))
                            .size(11.0)
                            .color(theme::on_quadrant(q))
                    )
                    .padding([1.0, 5.0])
                    .style(move |_: &iced::Theme| container::Style {
                        background: Some(theme::quadrant_color(q).into()),
                        border: iced::border::rounded(8.0),
                        ..container::Style::default()
                    }),
                    text(fmt_time(at)).size(11.0).style(muted_text),
                    column![
                        text(who)
                            .size(theme::TEXT_SMALL)
                            .wrapping(text::Wrapping::None),
                        text(format!(
                            "{:+.2}, {:+.2}{}",
                            s.mean.0,
                            s.mean.1,
                            if gone {
                                " · no longer in the library"
                            } else {
                                ""
                            }
                        ))
                        .size(11.0)
                        .style(muted_text),
                    ]
                    .width(Length::Fill)
                    .clip(true),
                    tiny("Play", (!gone).then_some(Message::Play(i))),
                    tiny("Swap", (live && !s.locked).then_some(Message::Swap(i))),
                    button(text(if s.locked { "Locked" } else { "Lock" }).size(11.0))
                        .padding([2.0, 6.0])
                        .style(if s.locked {
                            button::secondary
                        } else {
                            theme::flat
                        })
                        .on_press(Message::Lock(i)),
                ]
                .spacing(theme::SPACE_XS)
                .align_y(alignment::Vertical::Center),
            );
            at += s.duration_secs.max(0.0);
        }
        let any_locked = c.items.iter().any(|i| i.stop.locked);
        column![
            list,
            row![
                button(text("Play journey").size(theme::TEXT_SMALL))
                    .padding([4.0, 10.0])
                    .style(button::secondary)
                    .on_press(Message::Play(0)),
                button(
                    text(if any_locked {
                        "Regenerate the rest"
                    } else {
                        "Regenerate"
                    })
                    .size(theme::TEXT_SMALL)
                )
                .padding([4.0, 10.0])
                .style(theme::flat)
                .on_press_maybe(live.then_some(Message::Regenerate)),
            ]
            .spacing(theme::SPACE_S),
        ]
        .spacing(theme::SPACE_S)
        .into()
    }

    fn session_view(&self) -> Element<'_, Message> {
        let input = |ph: &'static str, v: &str, m: fn(String) -> Message| {
            text_input(ph, v)
                .on_input(m)
                .size(theme::TEXT_SMALL)
                .padding(4.0)
        };
        let check = |w: When, c: Option<CheckIn>| {
            let said = match c {
                Some(c) => {
                    format!(
                        "{:+.2}, {:+.2} at {}",
                        c.valence,
                        c.arousal,
                        fmt_utc(c.at).get(11..16).unwrap_or("")
                    ) + " UTC"
                }
                None if self.checking_in == Some(w) => "click the map…".into(),
                None => "not recorded".into(),
            };
            row![
                text(format!("{}:", capital(when_word(w))))
                    .size(theme::TEXT_SMALL)
                    .width(Length::Fixed(52.0)),
                text(said)
                    .size(theme::TEXT_SMALL)
                    .style(muted_text)
                    .width(Length::Fill),
                button(text("Record").size(11.0))
                    .padding([2.0, 6.0])
                    .style(theme::flat)
                    .on_press(Message::CheckIn(w)),
                button(text("Clear").size(11.0))
                    .padding([2.0, 6.0])
                    .style(theme::flat)
                    .on_press_maybe(c.is_some().then_some(Message::ClearCheckIn(w))),
            ]
            .spacing(theme::SPACE_XS)
            .align_y(alignment::Vertical::Center)
        };
        column![
            heading("Session"),
            input("Session name", &self.name, Message::Name),
            input("Client label (optional)", &self.client, Message::Client),
            text_editor(&self.notes)
                .placeholder("Notes")
                .on_action(Message::Notes)
                .size(theme::TEXT_SMALL)
                .height(Length::Fixed(70.0)),
            text("How the listener feels, as a point on the map:")
                .size(theme::TEXT_SMALL)
                .style(muted_text),
            check(When::Before, self.before),
            check(When::After, self.after),
            text("Kept on this computer only.")
                .size(11.0)
                .style(muted_text),
            row![
                button(
                    text(if self.session.is_some() {
                        "Save changes"
                    } else {
                        "Save session"
                    })
                    .size(theme::TEXT_SMALL)
                )
                .padding([4.0, 10.0])
                .style(button::primary)
                .on_press(Message::Save),
                button(text("Export sheet and M3U8").size(theme::TEXT_SMALL))
                    .padding([4.0, 10.0])
                    .style(button::secondary)
                    .on_press_maybe(self.session.map(|_| Message::Export)),
            ]
            .spacing(theme::SPACE_S),
        ]
        .spacing(theme::SPACE_XS)
        .into()
    }

    fn sessions_view(&self) -> Element<'_, Message> {
        let mut col = column![heading("Saved sessions")].spacing(theme::SPACE_XS);
        for s in &self.sessions {
            let client = s
                .client
                .as_ref()
                .map(|c| format!(" · {c}"))
                .unwrap_or_default();
            let del: Element<'_, Message> = if self.confirm_delete == Some(s.id) {
                row![
                    button(text("Delete").size(11.0))
                        .padding([2.0, 6.0])
                        .style(button::danger)
                        .on_press(Message::Delete(s.id)),
                    button(text("Keep").size(11.0))
                        .padding([2.0, 6.0])
                        .style(theme::flat)
                        .on_press(Message::ConfirmDelete(None)),
                ]
                .spacing(2.0)
                .into()
            } else {
                button(text("Delete").size(11.0))
                    .padding([2.0, 6.0])
                    .style(theme::flat)
                    .on_press(Message::ConfirmDelete(Some(s.id)))
                    .into()
            };
            col = col.push(
                row![
                    column![
                        text(s.name.clone()).size(theme::TEXT_SMALL),
                        text(format!(
                            "{}{client} · {} tracks · {}",
                            fmt_utc(s.created_at).get(..10).unwrap_or(""),
                            s.tracks,
                            fmt_time(s.duration_secs)
                        ))
                        .size(11.0)
                        .style(muted_text),
                    ]
                    .width(Length::Fill),
                    button(text("Open").size(11.0))
                        .padding([2.0, 6.0])
                        .style(if self.session == Some(s.id) {
                            button::secondary
                        } else {
                            theme::flat
                        })
                        .on_press(Message::Open(s.id)),
                    del,
                ]
                .spacing(theme::SPACE_XS)
                .align_y(alignment::Vertical::Center),
            );
        }
        col.into()
    }
}

/// A journey's tracks as the map draws them.
pub fn marks(items: &[SessionItem]) -> Vec<JourneyMark> {
    items
        .iter()
        .map(|i| JourneyMark {
            mean: i.stop.mean,
            start: i.stop.start,
            end: i.stop.end,
            quadrant: Quadrant::of_point(i.stop.mean.0, i.stop.mean.1),
            locked: i.stop.locked,
        })
        .collect()
}

const LEFT: &str = "A track of this session left the library: plan a new journey to change it";

fn when_word(w: When) -> &'static str {
    match w {
        When::Before => "before",
        When::After => "after",
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn heading(s: &str) -> iced::widget::Text<'_> {
    text(s).size(theme::TEXT_BODY).font(Font {
        weight: iced::font::Weight::Bold,
        ..Font::with_name(FONT_NAME)
    })
}

fn label(s: &str) -> iced::widget::Text<'_> {
    text(s).size(theme::TEXT_SMALL).width(Length::Fixed(84.0))
}
