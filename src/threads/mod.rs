//! Threads: which messages form one conversation.
//!
//! [`subject`] normalises subjects and recognises replies and forwards,
//! [`jwz`] builds the display tree of a thread (JWZ algorithm with ghost parents),
//! [`rethread`] groups a whole archive into threads anew.

pub mod jwz;
pub mod refs;
pub mod rethread;
pub mod subject;
