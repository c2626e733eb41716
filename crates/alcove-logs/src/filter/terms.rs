//! Term patterns: words and quoted phrases, `?` alternatives and `-` exclusions.

use super::PatternError;

/// `ERROR "bad thing" ?WARN ?FATAL -ignored`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermPattern {
    /// Every one must occur.
    pub required: Vec<String>,
    /// At least one must occur, when there are any.
    pub any: Vec<String>,
    /// None may occur.
    pub excluded: Vec<String>,
}

impl TermPattern {
    pub fn parse(text: &str) -> Result<TermPattern, PatternError> {
        let mut pattern = TermPattern::default();
        let mut chars = text.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let list = match first {
                '?' => {
                    chars.next();
                    &mut pattern.any
                }
                '-' => {
                    chars.next();
                    &mut pattern.excluded
                }
                _ => &mut pattern.required,
            };
            let term = if chars.next_if_eq(&'"').is_some() {
                let mut term = String::new();
                loop {
                    match chars.next() {
                        None => return Err(PatternError("unterminated quoted term".into())),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => term.push(escaped),
                            None => return Err(PatternError("unterminated quoted term".into())),
                        },
                        Some(c) => term.push(c),
                    }
                }
                if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                    return Err(PatternError("a quoted term must be followed by a space".into()));
                }
                term
            } else {
                let mut term = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    if c == '"' {
                        return Err(PatternError(format!(
                            "invalid character '\"' in term '{term}': quote the whole term"
                        )));
                    }
                    term.push(c);
                }
                term
            };
            if term.is_empty() {
                return Err(PatternError(format!("'{first}' must be followed by a term")));
            }
            list.push(term);
        }
        Ok(pattern)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, message: &str) -> bool {
        TermPattern::parse(pattern).unwrap().matches(message)
    }

    #[test]
    fn all_plain_terms_must_occur_case_sensitively() {
        assert!(matches("ERROR timeout", "[ERROR] request timeout after 3s"));
        assert!(!matches("ERROR timeout", "[ERROR] request failed"));
        assert!(!matches("error", "[ERROR] x"));
    }

    #[test]
    fn quoted_phrases_keep_their_spaces_and_escapes() {
        let pattern = TermPattern::parse(r#""request failed" "say \"hi\"""#).unwrap();
        assert_eq!(pattern.required, vec!["request failed".to_owned(), "say \"hi\"".to_owned()]);
        assert!(matches(r#""request failed""#, "the request failed"));
        assert!(!matches(r#""request failed""#, "failed request"));
    }

    #[test]
    fn alternatives_and_exclusions() {
        assert!(matches("?ERROR ?WARN", "WARN disk"));
        assert!(!matches("?ERROR ?WARN", "INFO disk"));
        assert!(matches("ERROR -retrying", "ERROR gave up"));
        assert!(!matches("ERROR -retrying", "ERROR retrying"));
        assert!(matches(r#"-"not this" ?a"#, "a b"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [r#""open"#, "?", "a -", r#"ab"c"#, r#""a"b"#] {
            assert!(TermPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
