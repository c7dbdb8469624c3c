//! Progress on stderr: one line that updates in place when stderr is a terminal, nothing when
//! it is not, a line per step with `--verbose`.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One line, rewritten in place (a terminal).
    Line,
    /// A line per step (`--verbose`).
    Lines,
    /// Nothing (stderr is a file or a pipe, as under CI).
    Silent,
}

pub struct Progress {
    mode: Mode,
    /// What every step is prefixed with: which run this is.
    prefix: String,
    /// Whether the line is on the screen now.
    shown: bool,
}

impl Progress {
    pub fn new(prefix: impl Into<String>, verbose: bool) -> Progress {
        let mode = if verbose {
            Mode::Lines
        } else if std::io::stderr().is_terminal() {
            Mode::Line
        } else {
            Mode::Silent
        };
        Progress {
            mode,
            prefix: prefix.into(),
            shown: false,
        }
    }

    /// Whether per-sample lines are wanted.
    pub fn verbose(&self) -> bool {
        self.mode == Mode::Lines
    }

    /// Shows the step the run is at. Keep steps short: the line must fit a terminal's width,
    /// or the carriage return no longer takes it back to its start.
    pub fn step(&mut self, step: impl Display) {
        match self.mode {
            Mode::Line => {
                let mut err = std::io::stderr().lock();
                // Carriage return, then erase the line: the next step replaces this one.
                let _ = write!(err, "\r\x1b[2K{}: {step}", self.prefix);
                let _ = err.flush();
                self.shown = true;
            }
            Mode::Lines => eprintln!("{}: {step}", self.prefix),
            Mode::Silent => {}
        }
    }

    /// A line that stays on stderr (an error, a warning), whatever the mode.
    pub fn line(&mut self, line: impl Display) {
        self.clear();
        eprintln!("{line}");
    }

    /// Takes the progress line off the screen.
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
