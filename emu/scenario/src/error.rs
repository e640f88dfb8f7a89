//! Diagnostics: every parse, plan and run error names `file:line:col`,
//! shows the offending line with a caret, and says what was expected.

use std::fmt;

/// A position in a scenario file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// An error in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub loc: Loc,
    pub message: String,
    /// The source line the error is on (shown under the message).
    pub source: String,
    /// A hint (`did you mean ...?`).
    pub help: Option<String>,
}

impl Diag {
    pub fn new(loc: Loc, message: impl Into<String>) -> Diag {
        Diag { loc, message: message.into(), source: String::new(), help: None }
    }

    pub fn help(mut self, help: Option<String>) -> Diag {
        self.help = help;
        self
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.loc, self.message)?;
        if !self.source.is_empty() {
            let n = self.loc.line.to_string();
            write!(f, "\n{} | {}", n, self.source)?;
            let pad = " ".repeat(n.len());
            let caret: String = self
                .source
                .chars()
                .take(self.loc.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} | {caret}^")?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diag {}

/// The closest candidate to `word` by edit distance, if close enough to be a
/// plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (word.len() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

/// `did you mean `X`?` for [`closest`].
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// Levenshtein distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_suggestion() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("updte", ["update", "lookup", "delete"]), Some("update"));
        assert_eq!(closest("zzzzzz", ["update"]), None);
    }
}
