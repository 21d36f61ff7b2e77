//! The stderr stream of [`super::render::Printer`]: anstream's, except that without colour
//! the common line is stripped here.
//!
//! anstream's stripping filter runs every byte through a terminal parser: about 65
//! instructions a byte, 0.8 M of a 200-line file's 14.8 M under `--check` (the fix lines).
//! A line that holds only printable ASCII, tabs, newlines and complete colour sequences
//! (`ESC [ digits/; m`, what the styles write) comes out of that parser as the same text
//! without the sequences, when the parser starts in its ground state. Such a line is
//! written directly; any other line (another escape, a control byte, non-ASCII text), and
//! every line while the parser is not in its ground state, goes through anstream's own
//! [`StripBytes`], so the output is the filter's, byte for byte.

use std::fmt::Write as _;
use std::io::{self, Write};

use anstream::AutoStream;
use anstream::adapter::StripBytes;

pub(crate) enum ErrStream {
    /// Colour kept (or passed through) by anstream.
    Styled(AutoStream<Box<dyn Write>>),
    Plain(Plain<Box<dyn Write>>),
}

impl ErrStream {
    /// Writes `line` and a newline.
    pub(crate) fn line(&mut self, line: std::fmt::Arguments<'_>) {
        match self {
            Self::Styled(stream) => {
                let _ = stream.write_fmt(line);
                let _ = stream.write_all(b"\n");
            }
            Self::Plain(plain) => plain.line(line),
        }
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Styled(stream) => stream.flush(),
            Self::Plain(plain) => plain.raw.flush(),
        }
    }
}

/// A stream that strips escape sequences, as anstream's `StripStream` does.
pub(crate) struct Plain<W: Write> {
    raw: W,
    strip: StripBytes,
    /// The line being written, and its bytes without colour sequences.
    text: String,
    stripped: Vec<u8>,
}

impl<W: Write> Plain<W> {
    pub(crate) fn new(raw: W) -> Self {
        Self {
            raw,
            strip: StripBytes::new(),
            text: String::new(),
            stripped: Vec::new(),
        }
    }

    fn line(&mut self, line: std::fmt::Arguments<'_>) {
        self.text.clear();
        let _ = writeln!(self.text, "{line}");
        if self.strip == StripBytes::new() && without_colour(&self.text, &mut self.stripped) {
            let _ = self.raw.write_all(&self.stripped);
            return;
        }
        for printable in self.strip.strip_next(self.text.as_bytes()) {
            if self.raw.write_all(printable).is_err() {
                return;
            }
        }
    }
}

/// `text` without its colour sequences into `out`, when it holds nothing else that a
/// terminal parser would treat specially; `false` otherwise.
fn without_colour(text: &str, out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut rest = text.as_bytes();
    loop {
        // the plain run up to the next byte that needs a look, copied whole
        let plain = rest
            .iter()
            .position(|&b| !matches!(b, b' '..=b'~' | b'\t' | b'\n'))
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..plain]);
        rest = &rest[plain..];
        let [0x1b, b'[', tail @ ..] = rest else {
            // the end, or a byte that is neither plain nor the start of a colour sequence
            return rest.is_empty();
        };
        let params = tail
            .iter()
            .position(|&b| !matches!(b, b'0'..=b'9' | b';'))
            .unwrap_or(tail.len());
        if tail.get(params) != Some(&b'm') {
            return false;
        }
        rest = &tail[params + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anstream::StripStream;
    use clap::builder::styling::{AnsiColor, Style};

    /// Lines written one after another: ours and anstream's filter give the same bytes.
    fn same_as_anstream(lines: &[&str]) {
        let mut ours = Plain::new(Vec::new());
        let mut theirs = StripStream::new(Vec::new());
        for line in lines {
            ours.line(format_args!("{line}"));
            let _ = theirs.write_fmt(format_args!("{line}"));
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
        let bold = Style::new().bold();
        let red_bold = AnsiColor::Red.on_default().bold();
        let cyan = AnsiColor::Cyan.on_default();
        let styled = format!("{bold}Dockerfile:3:{bold:#} {cyan}pass{cyan:#}: message\tend");
        let error = format!("{red_bold}error:{red_bold:#} x");
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
        same_as_anstream(&[&styled, &error, "tail"]);
        for (i, line) in awkward.iter().enumerate() {
            same_as_anstream(&[line, &styled]);
            same_as_anstream(&[&styled, line, &error, "plain"]);
            same_as_anstream(&awkward[i..]);
        }
        // the fast path is taken for the styled lines and skipped for the others
        let mut out = Vec::new();
        assert!(without_colour(&styled, &mut out));
        assert_eq!(out, b"Dockerfile:3: pass: message\tend");
        assert!(!without_colour("\x1b[12", &mut out));
        assert!(!without_colour("caf\u{e9}", &mut out));
    }
}
