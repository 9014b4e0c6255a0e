//! [`CommunityId`]: a flow's Community ID text, kept inline.

use arrayvec::ArrayString;
use core::fmt;
use serde::{Serialize, Serializer};

/// Bytes a [`CommunityId`] holds: a v1 id (`1:` and the 28 base64
/// characters of a SHA-1 digest) is 30.
pub const COMMUNITY_ID_MAX: usize = 31;

/// A flow's Community ID text, kept inline (36 bytes): copied with the
/// flow's facts into every record header and detector observation, never
/// allocated or reference-counted (a DNS lookup is a flow of its own, so
/// the id is built as often as flows are).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CommunityId(ArrayString<COMMUNITY_ID_MAX>);

impl CommunityId {
    /// `text`, or `None` when it is longer than [`COMMUNITY_ID_MAX`] bytes.
    #[must_use]
    pub fn new(text: &str) -> Option<Self> {
        ArrayString::from(text).ok().map(CommunityId)
    }

    /// The text (borrowed as is: no copy, no re-validation).
    #[must_use]
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// True for the empty id (flows without one, such as test fixtures).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Test and fixture convenience: the text, or the empty id when it does
/// not fit (the sensor builds its ids with [`CommunityId::new`]).
impl From<&str> for CommunityId {
    fn from(text: &str) -> Self {
        CommunityId::new(text).unwrap_or_default()
    }
}

impl fmt::Debug for CommunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for CommunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CommunityId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_whole_texts_up_to_the_cap() {
        let v1 = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
        let id = CommunityId::new(v1).expect("fits");
        assert_eq!(id.as_str(), v1);
        assert_eq!(id.to_string(), v1);
        assert_eq!(serde_json::to_string(&id).expect("json"), format!("\"{v1}\""));
        let longest = "x".repeat(COMMUNITY_ID_MAX);
        assert_eq!(CommunityId::new(&longest).map(|i| i.as_str().len()), Some(COMMUNITY_ID_MAX));
        assert!(CommunityId::new(&format!("{longest}y")).is_none());
        assert!(CommunityId::from(format!("{longest}y").as_str()).is_empty());
        assert!(CommunityId::new("").expect("empty").is_empty());
        assert_eq!(CommunityId::from("1:é").as_str(), "1:é");
        assert!(core::mem::size_of::<CommunityId>() <= 36);
    }
}
