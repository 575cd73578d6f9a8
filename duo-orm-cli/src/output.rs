//! What the CLI prints: aligned `created` / `skipped` / `updated` lines and per-step
//! progress, in colour where the terminal takes it. Styles are anstyle's; anstream decides
//! whether they reach the stream (a terminal, `NO_COLOR`, `CLICOLOR`, Windows consoles) and
//! strips them otherwise.

use std::io::Write;

use anstyle::{AnsiColor, Style};

/// Standard output, coloured where it can be.
pub struct Output {
    _private: (),
}

fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

fn color(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into()))
}

impl Output {
    pub fn stdout() -> Output {
        Output { _private: () }
    }

    pub fn line(&mut self, text: &str) {
        let mut stdout = anstream::stdout().lock();
        let _ = writeln!(stdout, "{text}");
        let _ = stdout.flush();
    }

    fn entry(&mut self, verb: &str, style: Style, path: &str, note: &str) {
        let verb = paint(style, &format!("{verb:>8}"));
        let line = if note.is_empty() { format!("{verb} {path}") } else { format!("{verb} {path:<28} {note}") };
        self.line(line.trim_end());
    }

    pub fn created(&mut self, path: &str, note: &str) {
        self.entry("created", color(AnsiColor::Green), path, note);
    }

    pub fn skipped(&mut self, path: &str, note: &str) {
        self.entry("skipped", color(AnsiColor::Yellow), path, note);
    }

    pub fn updated(&mut self, path: &str, note: &str) {
        self.entry("updated", color(AnsiColor::Cyan), path, note);
    }

    /// A step line: `  + create table users`.
    pub fn step(&mut self, sign: char, text: &str) {
        let sign = paint(color(if sign == '-' { AnsiColor::Red } else { AnsiColor::Green }), &sign.to_string());
        self.line(&format!("    {sign} {text}"));
    }

    pub fn bold(&self, text: &str) -> String {
        paint(Style::new().bold(), text)
    }

    pub fn green(&self, text: &str) -> String {
        paint(color(AnsiColor::Green), text)
    }

    pub fn red(&self, text: &str) -> String {
        paint(color(AnsiColor::Red), text)
    }

    pub fn yellow(&self, text: &str) -> String {
        paint(color(AnsiColor::Yellow), text)
    }
}
