//! Subject normalisation for the reply-subject threading fallback.

/// What a subject says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectInfo {
    /// The subject with reply/forward prefixes, list tags like `[foo:123]`,
    /// and surrounding whitespace removed, NFKC-folded and lowercased.
    pub normalized: String,
    /// Starts with a reply prefix: Re:, RE:, AW:, SV:, 返信:, Ｒｅ：, Re[2]:, Re^2:, ...
    pub is_reply: bool,
    /// Starts with a forward prefix: Fw:, Fwd:, FW:, WG:, 転送:, ...
    pub is_forward: bool,
}

pub fn analyze(_subject: &str) -> SubjectInfo {
    todo!()
}
