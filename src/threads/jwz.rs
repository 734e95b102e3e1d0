//! The display tree of a thread, by the JWZ algorithm, with ghost parents for
//! messages that were referenced but never seen.

/// A message as the tree builder needs it.
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    /// Caller's handle for the message (e.g. its row id).
    pub key: i64,
    pub message_id: String,
    /// References followed by In-Reply-To, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// Unix seconds, for ordering siblings.
    pub date: i64,
}

/// A node of the tree: a message we have, or a ghost (a referenced Message-ID we never saw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// `Some(key)` for a message, `None` for a ghost.
    pub key: Option<i64>,
    pub message_id: String,
    pub children: Vec<TreeNode>,
}

/// Builds the forest of a thread: roots and children in date order. Robust to
/// reference loops, self-references, duplicate Message-IDs (the first by
/// date is the node, later ones become its children) and garbage. Every input
/// message appears exactly once.
pub fn build(_messages: &[ThreadMessage]) -> Vec<TreeNode> {
    todo!()
}
