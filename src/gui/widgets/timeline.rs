//! The emotion timeline, twice: as the player's seek bar (a strip coloured by the winning
//! quadrant along time, click to seek) and as the detail chart (stacked quadrant
//! probabilities, valence and arousal over time).

use iced::mouse;
use iced::widget::canvas::{self, Frame, Geometry, Path, Stroke, Text};
use iced::{alignment, Color, Point, Rectangle, Renderer, Size, Theme};

use crate::library::TimelinePoint;
use crate::mood::Quadrant;

use crate::gui::theme;

/// Seek bar: `position` and `duration` in seconds; publishes `on_seek(seconds)` on click.
pub struct SeekBar<'a, M> {
    pub timeline: &'a [TimelinePoint],
    pub duration: f64,
    pub position: f64,
    pub on_seek: Option<fn(f64) -> M>,
}

impl<M: Clone> canvas::Program<M> for SeekBar<'_, M> {
    type State = ();

    fn update(
        &self,
        _state: &mut (),
        event: &iced::Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<canvas::Action<M>> {
        let on_seek = self.on_seek?;
        if let iced::Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) = event {
            let p = cursor.position_in(bounds)?;
            if self.duration > 0.0 && bounds.width > 0.0 {
                let secs = (p.x / bounds.width).clamp(0.0, 1.0) as f64 * self.duration;
                return Some(canvas::Action::publish(on_seek(secs)).and_capture());
            }
        }
        None
    }

    fn draw(
        &self,
        _state: &(),
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let pal = theme.extended_palette();
        let (w, h) = (bounds.width, bounds.height);
        let bar_h = (h * 0.5).max(6.0);
        let top = (h - bar_h) / 2.0;
        frame.fill(
            &Path::rounded_rectangle(Point::new(0.0, top), Size::new(w, bar_h), 3.0.into()),
            pal.background.strong.color,
        );
        let total = if self.duration > 0.0 {
            self.duration
        } else {
            self.timeline.last().map(|p| p.end_s).unwrap_or(0.0)
        };
        if total > 0.0 {
            for p in self.timeline {
                let x0 = (p.start_s / total).clamp(0.0, 1.0) as f32 * w;
                let x1 = (p.end_s / total).clamp(0.0, 1.0) as f32 * w;
                let mut c = theme::quadrant_color(p.mood().quadrant);
                // Confident segments are solid, uncertain ones fade.
                c.a = 0.45 + 0.55 * max_prob(&p.probs);
                frame.fill_rectangle(Point::new(x0, top), Size::new((x1 - x0).max(1.0), bar_h), c);
            }
            let x = (self.position / total).clamp(0.0, 1.0) as f32 * w;
            frame.fill_rectangle(
                Point::new(0.0, top + bar_h - 3.0),
                Size::new(x, 3.0),
                pal.background.base.text,
            );
            frame.fill(
                &Path::circle(Point::new(x, h / 2.0), h * 0.3),
                pal.background.base.text,
            );
            frame.fill(
                &Path::circle(Point::new(x, h / 2.0), h * 0.3 - 2.0),
                pal.primary.base.color,
            );
        }
        vec![frame.into_geometry()]
    }

    fn mouse_interaction(
        &self,
        _state: &(),
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> mouse::Interaction {
        if self.on_seek.is_some() && cursor.is_over(bounds) {
            mouse::Interaction::Pointer
        } else {
            mouse::Interaction::default()
        }
    }
}

fn max_prob(p: &[f32; 4]) -> f32 {
    p.iter().copied().fold(0.0, f32::max).clamp(0.0, 1.0)
}

/// The detail chart: top band = stacked quadrant probabilities, bottom band = valence
/// (solid) and arousal (dashed look: thinner, lighter) in [-1, 1].
pub struct EmotionChart<'a> {
    pub timeline: &'a [TimelinePoint],
    pub duration: f64,
}

impl<M> canvas::Program<M> for EmotionChart<'_> {
    type State = ();

    fn draw(
        &self,
        _state: &(),
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let pal = theme.extended_palette();
        let muted = theme::muted(theme);
        let left = 30.0;
        let w = (bounds.width - left).max(1.0);
        let gap = 18.0;
        let band = ((bounds.height - gap - 14.0) / 2.0).max(10.0);
        let total = if self.duration > 0.0 {
            self.duration
        } else {
            self.timeline.last().map(|p| p.end_s).unwrap_or(0.0)
        };
        let label = |frame: &mut Frame, s: &str, x: f32, y: f32, color: Color| {
            frame.fill_text(Text {
                content: s.to_string(),
                position: Point::new(x, y),
                color,
                size: 10.0.into(),
                align_x: iced::widget::text::Alignment::Right,
                align_y: alignment::Vertical::Center,
                ..Text::default()
            });
        };
        // Probabilities band.
        frame.fill_rectangle(
            Point::new(left, 0.0),
            Size::new(w, band),
            pal.background.weak.color,
        );
        label(&mut frame, "P", left - 6.0, band / 2.0, muted);
        // Valence/arousal band.
        let vtop = band + gap;
        frame.fill_rectangle(
            Point::new(left, vtop),
            Size::new(w, band),
            pal.background.weak.color,
        );
        label(&mut frame, "+1", left - 6.0, vtop + 5.0, muted);
        label(&mut frame, "0", left - 6.0, vtop + band / 2.0, muted);
        label(&mut frame, "−1", left - 6.0, vtop + band - 5.0, muted);
        frame.stroke(
            &Path::line(
                Point::new(left, vtop + band / 2.0),
                Point::new(left + w, vtop + band / 2.0),
            ),
            Stroke::default()
                .with_color(pal.background.strong.color)
                .with_width(1.0),
        );
        if total <= 0.0 || self.timeline.is_empty() {
            return vec![frame.into_geometry()];
        }
        let xs = |t: f64| left + (t / total).clamp(0.0, 1.0) as f32 * w;
        for p in self.timeline {
            let (x0, x1) = (xs(p.start_s), xs(p.end_s));
            let sum: f32 = p.probs.iter().map(|v| v.max(0.0)).sum::<f32>().max(1e-6);
            let mut y = band;
            for (i, v) in p.probs.iter().enumerate() {
                let hgt = v.max(0.0) / sum * band;
                y -= hgt;
                frame.fill_rectangle(
                    Point::new(x0, y),
                    Size::new((x1 - x0).max(1.0), hgt),
                    theme::quadrant_color(Quadrant::ALL[i % 4]),
                );
            }
        }
        let ys = |v: f32| vtop + (1.0 - (v.clamp(-1.0, 1.0) + 1.0) / 2.0) * band;
        let line = |get: fn(&TimelinePoint) -> f32| {
            Path::new(|b| {
                for (i, p) in self.timeline.iter().enumerate() {
                    let pt = Point::new(xs((p.start_s + p.end_s) / 2.0), ys(get(p)));
                    if i == 0 {
                        b.move_to(pt);
                    } else {
                        b.line_to(pt);
                    }
                }
            })
        };
        frame.stroke(
            &line(|p| p.arousal),
            Stroke::default().with_color(theme::Q2).with_width(1.5),
        );
        frame.stroke(
            &line(|p| p.valence),
            Stroke::default()
                .with_color(pal.background.base.text)
                .with_width(2.0),
        );
        // Time axis: start, middle, end.
        for t in [0.0, total / 2.0, total] {
            frame.fill_text(Text {
                content: super::super::fmt_time(t),
                position: Point::new(xs(t), bounds.height - 6.0),
                color: muted,
                size: 10.0.into(),
                align_x: if t == 0.0 {
                    iced::widget::text::Alignment::Left
                } else if t >= total {
                    iced::widget::text::Alignment::Right
                } else {
                    iced::widget::text::Alignment::Center
                },
                align_y: alignment::Vertical::Center,
                ..Text::default()
            });
        }
        vec![frame.into_geometry()]
    }
}
