//! The stderr stream of [`super::render::Printer`]: anstream's, except that without colour
//! the common line is written without styles in the first place.
//!
//! anstream's stripping filter runs every byte through a terminal parser, and writing the
//! styles costs formatting too: together about 4 K instructions a fix line, 0.4 M of a
//! 200-line file's 8 M under `--check`. So a line is formatted first with no styles
//! ([`Palette::PLAIN`]); when it holds only printable ASCII, tabs and newlines and the
//! parser is in its ground state, the filter would give those very bytes (it removes the
//! styles' complete `ESC [ … m` sequences and nothing else), and they are written
//! directly. Any other line (an escape, a control byte, non-ASCII text from the user's
//! file), and every line while the parser is not in its ground state, is formatted again
//! with the styles and goes through anstream's own [`StripBytes`], so the output is the
//! filter's, byte for byte.

use std::io::{self, Write};

use anstream::AutoStream;
use anstream::adapter::StripBytes;
use clap::builder::styling::{AnsiColor, Style};

/// The styles of a stderr line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Palette {
    pub(crate) bold: Style,
    pub(crate) cyan: Style,
    pub(crate) error: Style,
    pub(crate) warning: Style,
}

impl Palette {
    pub(crate) const COLOURED: Self = Self {
        bold: Style::new().bold(),
        cyan: AnsiColor::Cyan.on_default(),
        error: AnsiColor::Red.on_default().bold(),
        warning: AnsiColor::Yellow.on_default().bold(),
    };
    /// Styles that write nothing.
    const PLAIN: Self = Self {
        bold: Style::new(),
        cyan: Style::new(),
        error: Style::new(),
        warning: Style::new(),
    };

    /// Whether these are the styles that write nothing.
    pub(crate) fn is_plain(&self) -> bool {
        self.bold == Style::new()
    }
}

/// A line to write: formats itself (without its newline) with the given styles.
pub(crate) type Line<'a> = &'a dyn Fn(&Palette, &mut String) -> std::fmt::Result;

pub(crate) enum ErrStream {
    /// Colour kept (or passed through) by anstream.
    Styled(AutoStream<Box<dyn Write>>, String),
    Plain(Plain<Box<dyn Write>>),
}

impl ErrStream {
    /// Writes `line` and a newline.
    pub(crate) fn line(&mut self, line: Line<'_>) {
        match self {
            Self::Styled(stream, text) => {
                text.clear();
                let _ = line(&Palette::COLOURED, text);
                text.push('\n');
                let _ = stream.write_all(text.as_bytes());
            }
            Self::Plain(plain) => plain.line(line),
        }
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Styled(stream, _) => stream.flush(),
            Self::Plain(plain) => plain.raw.flush(),
        }
    }
}

/// A stream that strips escape sequences, as anstream's `StripStream` does.
pub(crate) struct Plain<W: Write> {
    raw: W,
    strip: StripBytes,
    /// The line being written.
    text: String,
}

impl<W: Write> Plain<W> {
    pub(crate) fn new(raw: W) -> Self {
        Self {
            raw,
            strip: StripBytes::new(),
            text: String::new(),
        }
    }

    fn line(&mut self, line: Line<'_>) {
        self.text.clear();
        let _ = line(&Palette::PLAIN, &mut self.text);
        self.text.push('\n');
        // a fold rather than `all`: without the early exit the compiler checks 16 bytes a step
        let plain = self.text.bytes().fold(true, |plain, b| {
            plain & matches!(b, b' '..=b'~' | b'\t' | b'\n')
        });
        if plain && self.strip == StripBytes::new() {
            debug_assert_eq!(self.text, {
                let mut coloured = String::new();
                let _ = line(&Palette::COLOURED, &mut coloured);
                format!("{}\n", anstream::adapter::strip_str(&coloured))
            });
            let _ = self.raw.write_all(self.text.as_bytes());
            return;
        }
        self.text.clear();
        let _ = line(&Palette::COLOURED, &mut self.text);
        self.text.push('\n');
        for printable in self.strip.strip_next(self.text.as_bytes()) {
            if self.raw.write_all(printable).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anstream::StripStream;
    use std::fmt::Write as _;

    /// Lines written one after another, each as `(text before, styled word, text after)`:
    /// ours and anstream's filter of the coloured line give the same bytes.
    fn same_as_anstream(lines: &[(&str, &str, &str)]) {
        let mut ours = Plain::new(Vec::new());
        let mut theirs = StripStream::new(Vec::new());
        for &(before, word, after) in lines {
            let line = |p: &Palette, out: &mut String| {
                let Palette { bold, cyan, .. } = *p;
                write!(out, "{bold}{before}{bold:#}{cyan}{word}{cyan:#}{after}")
            };
            ours.line(&line);
            let mut coloured = String::new();
            line(&Palette::COLOURED, &mut coloured).unwrap();
            let _ = theirs.write_all(coloured.as_bytes());
            let _ = theirs.write_all(b"\n");
        }
        assert_eq!(
            String::from_utf8_lossy(&ours.raw),
            String::from_utf8_lossy(&theirs.into_inner()),
            "{lines:?}"
        );
    }

    #[test]
    fn strips_as_anstream_does() {
        let styled = ("Dockerfile:3:", " pass", ": message\tend");
        let plain = ("", "", "plain");
        let awkward = [
            "plain ascii",
            "",
            "\x1b[1;31mset\x1b[0m",
            "\x1b[38;5;200mmany params\x1b[m",
            "unfinished \x1b[12",
            "after an unfinished one",
            "\x1b]0;title\x07 osc",
            "\x1b(B charset",
            "control \x01 byte",
            "DEL \x7f alone",
            "bell \x07 alone",
            "carriage\rreturn",
            "non-ascii: caf\u{e9} \u{2192} \u{9b}1m c1",
            "\x1b[?25h private",
            "\x1b",
            "next",
        ];
        same_as_anstream(&[styled, plain]);
        for (i, text) in awkward.iter().enumerate() {
            // the user's text before a style, inside one and after the last
            for line in [(*text, "w", ""), ("a", *text, "b"), ("a", "w", *text)] {
                same_as_anstream(&[line, styled]);
                same_as_anstream(&[styled, line, styled, plain]);
            }
            let rest: Vec<_> = awkward[i..].iter().map(|t| ("x", "y", *t)).collect();
            same_as_anstream(&rest);
        }
    }
}
