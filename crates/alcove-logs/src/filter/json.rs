//! JSON patterns: `{ SELECTOR OP VALUE }` comparisons joined by `&&` and `||`, with
//! parentheses; a hand-written recursive-descent parser over a small tokenizer.
//!
//! Grammar (CloudWatch's, minus `$.*` wildcard selectors):
//! ```text
//! pattern    = "{" or "}"
//! or         = and { "||" and }
//! and        = primary { "&&" primary }
//! primary    = "(" or ")" | selector test
//! selector   = "$" { "." name | "[" index "]" }
//! test       = op value | "IS" ("NULL" | "TRUE" | "FALSE") | "EXISTS" | "NOT" "EXISTS"
//! op         = "=" | "!=" | "<" | "<=" | ">" | ">="
//! value      = quoted string | number | bare word; "*" in a string is a wildcard
//! ```
//! A comparison on a field that is absent does not match (`!=` included); `NOT EXISTS`
//! is how to ask for absence.

use serde_json::Value;

use super::PatternError;

#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpr {
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
    Test(Selector, Test),
}

/// A path into the document: `$.a.b[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector(pub Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Compare(Op, Operand),
    IsNull,
    IsTrue,
    IsFalse,
    Exists,
    NotExists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    /// A string, possibly with `*` wildcards.
    Text(String),
}

impl JsonExpr {
    pub fn parse(text: &str) -> Result<JsonExpr, PatternError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        parser.expect(&Token::Open)?;
        let expr = parser.or()?;
        parser.expect(&Token::Close)?;
        if parser.at != parser.tokens.len() {
            return Err(PatternError("unexpected text after '}'".into()));
        }
        Ok(expr)
    }

    pub fn matches(&self, document: &Value) -> bool {
        match self {
            JsonExpr::And(a, b) => a.matches(document) && b.matches(document),
            JsonExpr::Or(a, b) => a.matches(document) || b.matches(document),
            JsonExpr::Test(selector, test) => test.holds(selector.select(document)),
        }
    }
}

impl Selector {
    fn select<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(document, |value, step| match step {
            Step::Field(name) => value.get(name),
            Step::Index(i) => value.get(i),
        })
    }
}

impl Test {
    fn holds(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Test::Exists, found) => found.is_some(),
            (Test::NotExists, found) => found.is_none(),
            (_, None) => false,
            (Test::IsNull, Some(v)) => v.is_null(),
            (Test::IsTrue, Some(v)) => v == &Value::Bool(true),
            (Test::IsFalse, Some(v)) => v == &Value::Bool(false),
            (Test::Compare(op, operand), Some(v)) => compare(*op, operand, v),
        }
    }
}

fn compare(op: Op, operand: &Operand, value: &Value) -> bool {
    match operand {
        Operand::Number(expected) => {
            let Some(actual) = value.as_f64() else { return false };
            match op {
                Op::Eq => actual == *expected,
                Op::Ne => actual != *expected,
                Op::Lt => actual < *expected,
                Op::Le => actual <= *expected,
                Op::Gt => actual > *expected,
                Op::Ge => actual >= *expected,
            }
        }
        Operand::Text(pattern) => {
            let actual = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return false,
            };
            match op {
                Op::Eq => wildcard_match(pattern, &actual),
                Op::Ne => !wildcard_match(pattern, &actual),
                // Parsing refuses ordering operators on strings.
                _ => false,
            }
        }
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else { return rest.is_empty() };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    And,
    Or,
    Op(Op),
    Selector(Selector),
    Quoted(String),
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, width) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('{', _) => (Token::Open, 1),
            ('}', _) => (Token::Close, 1),
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('&', Some('&')) => (Token::And, 2),
            ('|', Some('|')) => (Token::Or, 2),
            ('!', Some('=')) => (Token::Op(Op::Ne), 2),
            ('<', Some('=')) => (Token::Op(Op::Le), 2),
            ('>', Some('=')) => (Token::Op(Op::Ge), 2),
            ('=', _) => (Token::Op(Op::Eq), 1),
            ('<', _) => (Token::Op(Op::Lt), 1),
            ('>', _) => (Token::Op(Op::Gt), 1),
            ('"', _) => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(PatternError("unterminated quoted value".into())),
                        Some('"') => break,
                        Some('\\') if j + 1 < chars.len() => {
                            value.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(&ch) => {
                            value.push(ch);
                            j += 1;
                        }
                    }
                }
                tokens.push(Token::Quoted(value));
                i = j + 1;
                continue;
            }
            ('$', _) => {
                let (selector, end) = selector(&chars, i)?;
                tokens.push(Token::Selector(selector));
                i = end;
                continue;
            }
            _ => {
                let mut j = i;
                while j < chars.len() && !chars[j].is_whitespace() && !"{}()&|=!<>\"".contains(chars[j]) {
                    j += 1;
                }
                if j == i {
                    return Err(PatternError(format!("unexpected character '{c}'")));
                }
                tokens.push(Token::Word(chars[i..j].iter().collect()));
                i = j;
                continue;
            }
        };
        tokens.push(token);
        i += width;
    }
    Ok(tokens)
}

/// Reads `$.a.b[0]` starting at `start` (the `$`); returns it and where it ends.
fn selector(chars: &[char], start: usize) -> Result<(Selector, usize), PatternError> {
    let mut steps = Vec::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            Some('.') => {
                let from = i + 1;
                let mut j = from;
                while j < chars.len() && (chars[j].is_alphanumeric() || "_-@:".contains(chars[j])) {
                    j += 1;
                }
                if j == from {
                    return Err(PatternError("a selector's '.' must be followed by a field name".into()));
                }
                steps.push(Step::Field(chars[from..j].iter().collect()));
                i = j;
            }
            Some('[') => {
                let from = i + 1;
                let mut j = from;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                if j == from || chars.get(j) != Some(&']') {
                    return Err(PatternError("a selector's '[' must hold an array index".into()));
                }
                let index: String = chars[from..j].iter().collect();
                let index =
                    index.parse().map_err(|_| PatternError(format!("array index {index} too large")))?;
                steps.push(Step::Index(index));
                i = j + 1;
            }
            _ => break,
        }
    }
    if steps.is_empty() {
        return Err(PatternError("a selector must name a field, as in $.field".into()));
    }
    Ok((Selector(steps), i))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, wanted: &Token) -> Result<(), PatternError> {
        match self.next() {
            Some(ref token) if token == wanted => Ok(()),
            other => Err(PatternError(format!(
                "expected {}, found {}",
                describe(Some(wanted)),
                describe(other.as_ref())
            ))),
        }
    }

    fn or(&mut self) -> Result<JsonExpr, PatternError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.next();
            left = JsonExpr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<JsonExpr, PatternError> {
        let mut left = self.primary()?;
        while self.peek() == Some(&Token::And) {
            self.next();
            left = JsonExpr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<JsonExpr, PatternError> {
        match self.next() {
            Some(Token::LParen) => {
                let inner = self.or()?;
                self.expect(&Token::RParen)?;
                Ok(inner)
            }
            Some(Token::Selector(selector)) => Ok(JsonExpr::Test(selector, self.test()?)),
            other => Err(PatternError(format!(
                "expected a selector such as $.field, found {}",
                describe(other.as_ref())
            ))),
        }
    }

    fn test(&mut self) -> Result<Test, PatternError> {
        match self.next() {
            Some(Token::Op(op)) => {
                let operand = match self.next() {
                    Some(Token::Quoted(text)) => Operand::Text(text),
                    Some(Token::Word(word)) => match word.parse::<f64>() {
                        Ok(number) if number.is_finite() => Operand::Number(number),
                        _ => Operand::Text(word),
                    },
                    other => {
                        return Err(PatternError(format!(
                            "expected a value, found {}",
                            describe(other.as_ref())
                        )))
                    }
                };
                if matches!(operand, Operand::Text(_)) && !matches!(op, Op::Eq | Op::Ne) {
                    return Err(PatternError("<, <=, > and >= compare numbers only".into()));
                }
                Ok(Test::Compare(op, operand))
            }
            Some(Token::Word(word)) if word == "IS" => match self.next() {
                Some(Token::Word(w)) if w == "NULL" => Ok(Test::IsNull),
                Some(Token::Word(w)) if w == "TRUE" => Ok(Test::IsTrue),
                Some(Token::Word(w)) if w == "FALSE" => Ok(Test::IsFalse),
                other => Err(PatternError(format!(
                    "expected NULL, TRUE or FALSE after IS, found {}",
                    describe(other.as_ref())
                ))),
            },
            Some(Token::Word(word)) if word == "EXISTS" => Ok(Test::Exists),
            Some(Token::Word(word)) if word == "NOT" => match self.next() {
                Some(Token::Word(w)) if w == "EXISTS" => Ok(Test::NotExists),
                other => Err(PatternError(format!(
                    "expected EXISTS after NOT, found {}",
                    describe(other.as_ref())
                ))),
            },
            other => Err(PatternError(format!("expected an operator, found {}", describe(other.as_ref())))),
        }
    }
}

fn describe(token: Option<&Token>) -> String {
    match token {
        None => "the end of the pattern".into(),
        Some(Token::Open) => "'{'".into(),
        Some(Token::Close) => "'}'".into(),
        Some(Token::LParen) => "'('".into(),
        Some(Token::RParen) => "')'".into(),
        Some(Token::And) => "'&&'".into(),
        Some(Token::Or) => "'||'".into(),
        Some(Token::Op(_)) => "an operator".into(),
        Some(Token::Selector(_)) => "a selector".into(),
        Some(Token::Quoted(s)) => format!("\"{s}\""),
        Some(Token::Word(w)) => format!("'{w}'"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn matches(pattern: &str, document: Value) -> bool {
        JsonExpr::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")).matches(&document)
    }

    #[test]
    fn string_equality_and_inequality() {
        let doc = json!({"tenantId": "BlueTenant", "user": {"name": "ann"}});
        assert!(matches(r#"{ $.tenantId = "BlueTenant" }"#, doc.clone()));
        assert!(matches(r#"{$.tenantId=BlueTenant}"#, doc.clone()));
        assert!(!matches(r#"{ $.tenantId = "bluetenant" }"#, doc.clone()));
        assert!(matches(r#"{ $.user.name != "bob" }"#, doc.clone()));
        assert!(!matches(r#"{ $.missing != "bob" }"#, doc), "an absent field matches no comparison");
    }

    #[test]
    fn wildcards_in_string_values() {
        let doc = json!({"ip": "123.123.4.5", "event": "UpdateTrail"});
        assert!(matches("{ $.ip = 123.123.* }", doc.clone()));
        assert!(!matches("{ $.ip != 123.123.* }", doc.clone()));
        assert!(matches(r#"{ $.event = "*Trail" }"#, doc.clone()));
        assert!(matches(r#"{ $.event = "Up*Tr*l" }"#, doc.clone()));
        assert!(!matches(r#"{ $.event = "*Trails" }"#, doc));
        assert!(wildcard_match("a*a", "aa") && !wildcard_match("a*a", "a"));
    }

    #[test]
    fn numbers_compare_numerically() {
        let doc = json!({"latency": 250, "code": 200, "ratio": 0.5});
        assert!(matches("{ $.latency > 100 }", doc.clone()));
        assert!(matches("{ $.latency >= 250 && $.latency <= 250 }", doc.clone()));
        assert!(!matches("{ $.latency < 100 }", doc.clone()));
        assert!(matches("{ $.code = 200 }", doc.clone()));
        assert!(matches("{ $.ratio = 5e-1 }", doc.clone()));
        assert!(matches("{ $.code != 404 }", doc));
        assert!(!matches("{ $.code > 1 }", json!({"code": "300"})), "a string is no number");
    }

    #[test]
    fn arrays_booleans_null_and_existence() {
        let doc = json!({"list": [{"id": 1}, {"id": 2}], "ok": true, "bad": false, "none": null});
        assert!(matches("{ $.list[1].id = 2 }", doc.clone()));
        assert!(!matches("{ $.list[5].id = 2 }", doc.clone()));
        assert!(matches("{ $.ok IS TRUE && $.bad IS FALSE && $.none IS NULL }", doc.clone()));
        assert!(!matches("{ $.missing IS NULL }", doc.clone()));
        assert!(matches("{ $.ok EXISTS && $.missing NOT EXISTS }", doc.clone()));
        assert!(!matches("{ $.ok NOT EXISTS }", doc));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let doc = json!({"a": 1, "b": 2, "c": 3});
        assert!(matches("{ $.a = 9 && $.b = 9 || $.c = 3 }", doc.clone()));
        assert!(!matches("{ $.a = 9 && ($.b = 9 || $.c = 3) }", doc.clone()));
        assert!(matches("{ ($.a = 1 || $.a = 2) && $.c = 3 }", doc));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "{ $.a = }",
            "{ $.a }",
            "{ $.a = 1",
            "{ a = 1 }",
            "{ $ = 1 }",
            "{ $.a = \"x }",
            "{ $.a > \"x\" }",
            "{ ($.a = 1 }",
            "{ $.a = 1 && }",
            "{ $.a = 1 } extra",
            "{ $.a IS MAYBE }",
            "{ $.a[x] = 1 }",
        ] {
            assert!(JsonExpr::parse(bad).is_err(), "{bad}");
        }
    }
}
