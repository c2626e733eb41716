//! Paging tokens. Event tokens name a position in time order, `(timestamp, event id)`:
//! `GetLogEvents` hands out `f/<position>` (continue after the last event returned) and
//! `b/<position>` (continue before the first), `FilterLogEvents` a bare position (resume
//! after the last event searched). Listings page by offset. Tokens are opaque to clients;
//! one that does not parse is an `InvalidParameterException`.

use crate::LogsError;

/// Where an event sits in a stream's or group's time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub timestamp: i64,
    pub id: i64,
}

impl Position {
    /// Before every event.
    pub const START: Position = Position { timestamp: i64::MIN, id: i64::MIN };
    /// After every event.
    pub const END: Position = Position { timestamp: i64::MAX, id: i64::MAX };

    /// Fixed-width digits; timestamps are shifted so negative ones (and the ends) fit.
    pub fn encode(self) -> String {
        let shift = |v: i64| (v as i128 - i64::MIN as i128) as u64;
        format!("{:020}{:020}", shift(self.timestamp), shift(self.id))
    }

    pub fn decode(text: &str) -> Option<Position> {
        if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let unshift = |digits: &str| -> Option<i64> {
            let value: u64 = digits.parse().ok()?;
            Some((value as i128 + i64::MIN as i128) as i64)
        };
        Some(Position { timestamp: unshift(&text[..20])?, id: unshift(&text[20..])? })
    }
}

/// A `GetLogEvents` token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventToken {
    /// Events after this position, oldest first.
    Forward(Position),
    /// Events before this position, the newest `limit` of them.
    Backward(Position),
}

impl EventToken {
    pub fn encode(self) -> String {
        match self {
            EventToken::Forward(p) => format!("f/{}", p.encode()),
            EventToken::Backward(p) => format!("b/{}", p.encode()),
        }
    }

    pub fn parse(text: &str) -> Result<EventToken, LogsError> {
        let parsed = match text.split_at_checked(2) {
            Some(("f/", rest)) => Position::decode(rest).map(EventToken::Forward),
            Some(("b/", rest)) => Position::decode(rest).map(EventToken::Backward),
            _ => None,
        };
        parsed.ok_or_else(invalid_token)
    }
}

/// A `FilterLogEvents` token: resume after this position.
pub fn parse_position(text: &str) -> Result<Position, LogsError> {
    Position::decode(text).ok_or_else(invalid_token)
}

/// A listing token: how many items came before.
pub fn parse_offset(text: &str) -> Result<usize, LogsError> {
    text.strip_prefix("o/").and_then(|n| n.parse().ok()).ok_or_else(invalid_token)
}

pub fn encode_offset(offset: usize) -> String {
    format!("o/{offset}")
}

fn invalid_token() -> LogsError {
    LogsError::InvalidParameter("The specified nextToken is invalid.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_keep_their_order_as_text() {
        let positions = [
            Position::START,
            Position { timestamp: -5, id: 3 },
            Position { timestamp: 0, id: 0 },
            Position { timestamp: 1_700_000_000_000, id: 1 },
            Position { timestamp: 1_700_000_000_000, id: 2 },
            Position::END,
        ];
        for pair in positions.windows(2) {
            assert!(pair[0].encode() < pair[1].encode());
        }
        for p in positions {
            assert_eq!(Position::decode(&p.encode()), Some(p));
            for token in [EventToken::Forward(p), EventToken::Backward(p)] {
                assert_eq!(EventToken::parse(&token.encode()).unwrap(), token);
            }
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "f/", "x/0000", "f/123", "b/abc", &format!("f/{}", "9".repeat(40))] {
            assert!(EventToken::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_offset("o/12").is_ok_and(|n| n == 12));
        assert!(parse_offset("12").is_err() && parse_position("nope").is_err());
    }
}
