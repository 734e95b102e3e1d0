//! Threads worked out afresh from everything the archive holds.
//!
//! An import threads each message as it arrives ([`Store::assign_thread`],
//! [`Store::subject_fallback`]). It merges threads and never splits them, so
//! an archive keeps whatever an earlier version of kura grouped, and a reply
//! without references may stay joined to a mail it turned out not to answer
//! once a nearer one arrived. [`rethread`] groups every stored message again,
//! knowing them all at once: two messages are in one thread when one
//! references the other, or both reference one Message-ID, or when one is a
//! reply without references whose original (`Store::original_of`) is the
//! other. The result depends on the messages, not on the order they came in.
//!
//! Thread ids stay what they were wherever they can, since users keep them
//! (`thread:42`): threads are taken in the order their first message was
//! stored, and each takes the smallest id its messages had that no thread
//! took before it. A part split off a thread gets a new id.

use crate::store::{Store, ThreadOptions};
use anyhow::Result;
use std::collections::{HashMap, HashSet};

/// What [`rethread`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rethreaded {
    /// Threads of the messages after.
    pub threads: u64,
    /// Messages whose thread id changed.
    pub moved: u64,
}

/// Groups every message of `store` into threads anew (see the module's
/// documentation), by the subject too unless `opts` says not to, and records
/// them, with `opts` as how the archive is threaded from now on, in one
/// transaction. The caller holds the archive's import lock.
pub fn rethread(store: &Store, opts: ThreadOptions) -> Result<Rethreaded> {
    store.begin()?;
    // Nodes: the messages in row order, then the ids they reference that
    // no message has (ghosts). Each id is held once, as a key of
    // `node_of_id`; the references are read one message at a time.
    let mut messages: Vec<(i64, i64)> = Vec::new();
    let mut node_of_id: HashMap<Box<str>, usize> = HashMap::new();
    store.each_message_thread(|row, id, thread| {
        node_of_id.insert(id.into(), messages.len());
        messages.push((row, thread));
        Ok(())
    })?;
    let node_of_row = |row: i64| messages.binary_search_by_key(&row, |m| m.0).ok();
    let mut ghosts: Vec<Box<str>> = Vec::new();
    let mut sets = DisjointSets::default();
    sets.grow(messages.len());
    let mut refless: Vec<(String, i64, i64)> = Vec::new();
    store.each_thread_facts(|f| {
        let node = node_of_row(f.row)
            .ok_or_else(|| anyhow::anyhow!("message {} appeared while threading", f.row))?;
        for id in &f.refs {
            let other = match node_of_id.get(id.as_str()) {
                Some(&n) => n,
                None => {
                    let n = sets.grow(1);
                    node_of_id.insert(id.as_str().into(), n);
                    ghosts.push(id.as_str().into());
                    n
                }
            };
            sets.union(node, other);
        }
        if let Some((subject, date)) = f.refless_reply {
            if opts.subject_fallback
                && let Some((original, _)) = store.original_of(f.row, &subject, date, opts)?
                && let Some(other) = node_of_row(original)
            {
                sets.union(node, other);
            }
            refless.push((subject, date, f.row));
        }
        Ok(())
    })?;
    drop(node_of_id);

    // Each set's id, the sets in the order of their first message (a set's
    // root is its smallest node, a message: ghosts come after them).
    let mut old: Vec<(usize, i64)> = messages
        .iter()
        .enumerate()
        .map(|(i, &(_, thread))| (sets.find(i), thread))
        .collect();
    old.sort_unstable();
    old.dedup();
    let mut next = store.max_thread()?;
    let mut taken = HashSet::new();
    let mut id_of_root = HashMap::new();
    for set in old.chunk_by(|a, b| a.0 == b.0) {
        let id = match set.iter().map(|&(_, t)| t).find(|t| !taken.contains(t)) {
            Some(t) => t,
            None => {
                next += 1;
                next
            }
        };
        taken.insert(id);
        id_of_root.insert(set[0].0, id);
    }
    let mut thread_of = |node: usize| -> Result<i64> {
        id_of_root
            .get(&sets.find(node))
            .copied()
            .ok_or_else(|| anyhow::anyhow!("thread of node {node} not assigned"))
    };

    let mut moved = Vec::new();
    for (i, &(row, thread)) in messages.iter().enumerate() {
        let t = thread_of(i)?;
        if t != thread {
            moved.push((row, t));
        }
    }
    let ghost_threads = ghosts
        .iter()
        .enumerate()
        .map(|(k, id)| Ok((&**id, thread_of(messages.len() + k)?)))
        .collect::<Result<Vec<_>>>()?;
    let refless: Vec<(&str, i64, i64)> = refless
        .iter()
        .map(|(subject, date, row)| (subject.as_str(), *date, *row))
        .collect();
    store.rewrite_threads(&moved, &ghost_threads, &refless)?;
    // The ids no thread kept stay used.
    store.raise_thread_high(next)?;
    store.record_thread_options(opts)?;
    store.commit()?;
    Ok(Rethreaded {
        threads: id_of_root.len() as u64,
        moved: moved.len() as u64,
    })
}

/// Union–find over nodes `0..n`; a set's root is its smallest node.
#[derive(Debug, Default)]
struct DisjointSets {
    parent: Vec<usize>,
}

impl DisjointSets {
    /// Adds `n` nodes, each a set of its own; returns the last one.
    fn grow(&mut self, n: usize) -> usize {
        let start = self.parent.len();
        self.parent.extend(start..start + n);
        self.parent.len().saturating_sub(1)
    }

    fn find(&mut self, mut node: usize) -> usize {
        while self.parent[node] != node {
            // Path halving keeps the trees shallow.
            self.parent[node] = self.parent[self.parent[node]];
            node = self.parent[node];
        }
        node
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (root, child) = (ra.min(rb), ra.max(rb));
        self.parent[child] = root;
    }
}
