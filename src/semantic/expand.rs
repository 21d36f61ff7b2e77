//! BuildKit's word processing for the instructions that expand variables (FROM, ENV, ARG,
//! WORKDIR, USER, COPY, ADD, EXPOSE, LABEL, VOLUME, STOPSIGNAL): quote removal, the escape
//! character, `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`.

/// What a variable is at some point of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    Value(String),
    /// Known not to be set (BuildKit expands it to nothing).
    Unset,
    /// May be set by something the file does not show (the base image's ENV).
    Unknown,
}

/// Expands one word as BuildKit does; `None` when the result depends on an unknown variable.
pub(crate) fn expand(word: &str, escape: char, lookup: &dyn Fn(&str) -> Var) -> Option<String> {
    // most words have nothing to expand or remove: one exact copy, no char buffer
    if !word.contains([escape, '$', '\'', '"']) {
        return Some(word.to_owned());
    }
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == escape {
            // outside quotes the escape character takes the next character literally
            if let Some(&next) = chars.get(i + 1) {
                out.push(next);
            }
            i += 2;
        } else if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == escape && matches!(chars.get(i + 1), Some('"' | '$')) {
                    out.push(chars[i + 1]);
                    i += 2;
                } else if chars[i] == escape && chars.get(i + 1) == Some(&escape) && escape == '\\'
                {
                    out.push('\\');
                    i += 2;
                } else if chars[i] == '$' {
                    i = variable(&chars, i, escape, lookup, &mut out)?;
                } else {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            i += 1;
        } else if c == '$' {
            i = variable(&chars, i, escape, lookup, &mut out)?;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands the variable at `chars[at] == '$'` into `out`; returns the index after it.
fn variable(
    chars: &[char],
    at: usize,
    escape: char,
    lookup: &dyn Fn(&str) -> Var,
    out: &mut String,
) -> Option<usize> {
    let mut i = at + 1;
    if chars.get(i) == Some(&'{') {
        i += 1;
        let start = i;
        while i < chars.len() && is_name_char(chars[i]) {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        if name.is_empty() {
            return None;
        }
        let mut modifier = String::new();
        if chars.get(i) == Some(&':') {
            modifier.push(':');
            i += 1;
        }
        if let Some(&m) = chars.get(i).filter(|m| matches!(m, '-' | '+' | '?')) {
            modifier.push(m);
            i += 1;
        } else if !modifier.is_empty() {
            // `${a:1}`-style substrings and patterns are not read
            return None;
        }
        let word_start = i;
        let mut depth = 0;
        while i < chars.len() && !(chars[i] == '}' && depth == 0) {
            match chars[i] {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        if i >= chars.len() {
            return None;
        }
        let inner: String = chars[word_start..i].iter().collect();
        let value = lookup(&name);
        let colon = modifier.starts_with(':');
        // set, for this modifier: `:` forms treat an empty value as unset
        let set = match &value {
            Var::Value(v) => !(colon && v.is_empty()),
            Var::Unset => false,
            Var::Unknown => return None,
        };
        let text = match (modifier.trim_start_matches(':'), value) {
            ("", Var::Value(v)) => v,
            ("-", Var::Value(v)) if set => v,
            ("-", _) => expand(&inner, escape, lookup)?,
            ("+", _) if set => expand(&inner, escape, lookup)?,
            ("" | "+", _) => String::new(),
            _ => return None,
        };
        out.push_str(&text);
        Some(i + 1)
    } else {
        let start = i;
        while i < chars.len() && is_name_char(chars[i]) {
            i += 1;
        }
        if i == start {
            out.push('$');
            return Some(i);
        }
        let name: String = chars[start..i].iter().collect();
        match lookup(&name) {
            Var::Value(v) => out.push_str(&v),
            Var::Unset => {}
            Var::Unknown => return None,
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Var {
        match name {
            "A" => Var::Value("1".into()),
            "EMPTY" => Var::Value(String::new()),
            "U" => Var::Unknown,
            _ => Var::Unset,
        }
    }

    #[test]
    fn expands_like_buildkit() {
        let e = |w: &str| expand(w, '\\', &env);
        assert_eq!(e("plain").as_deref(), Some("plain"));
        assert_eq!(e("$A/b").as_deref(), Some("1/b"));
        assert_eq!(e("${A}x").as_deref(), Some("1x"));
        assert_eq!(e("'$A'").as_deref(), Some("$A"));
        assert_eq!(e("\"$A b\"").as_deref(), Some("1 b"));
        assert_eq!(e("\\$A").as_deref(), Some("$A"));
        assert_eq!(e("${B:-def}").as_deref(), Some("def"));
        assert_eq!(e("${EMPTY:-def}").as_deref(), Some("def"));
        assert_eq!(e("${EMPTY-def}").as_deref(), Some(""));
        assert_eq!(e("${A:+alt}").as_deref(), Some("alt"));
        assert_eq!(e("$B").as_deref(), Some(""));
        assert_eq!(e("$U"), None);
        assert_eq!(e("${U:-x}"), None);
        assert_eq!(e("${A:1}"), None);
        assert_eq!(e("a$").as_deref(), Some("a$"));
    }
}
