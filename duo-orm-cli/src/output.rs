//! What the CLI prints: aligned `created` / `skipped` / `updated` lines and per-step
//! progress, in colour when stdout is a terminal (and `NO_COLOR` is unset).

use std::io::{IsTerminal, Write};

/// Standard output, coloured or not.
pub struct Output {
    color: bool,
}

impl Output {
    pub fn stdout() -> Output {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Output { color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub fn line(&mut self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
        let _ = stdout.flush();
    }

    fn entry(&mut self, verb: &str, code: &str, path: &str, note: &str) {
        let verb = self.paint(code, &format!("{verb:>8}"));
        let line = if note.is_empty() { format!("{verb} {path}") } else { format!("{verb} {path:<28} {note}") };
        self.line(line.trim_end());
    }

    pub fn created(&mut self, path: &str, note: &str) {
        self.entry("created", "32", path, note);
    }

    pub fn skipped(&mut self, path: &str, note: &str) {
        self.entry("skipped", "33", path, note);
    }

    pub fn updated(&mut self, path: &str, note: &str) {
        self.entry("updated", "36", path, note);
    }

    /// A step line: `  + create table users`.
    pub fn step(&mut self, sign: char, text: &str) {
        let sign = self.paint(if sign == '-' { "31" } else { "32" }, &sign.to_string());
        self.line(&format!("    {sign} {text}"));
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
}
