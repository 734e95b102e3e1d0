//! The display tree of a thread, by the JWZ algorithm, with ghost parents for
//! messages that were referenced but never seen.
//!
//! Which messages form the thread is decided elsewhere; this module only
//! arranges a given set of messages into a forest, following
//! <https://www.jwz.org/doc/threading.html>:
//!
//! 1. One container per Message-ID. Duplicates (same Message-ID) are ordered by
//!    date, then key: the earliest owns the container, each later one gets a
//!    container of its own that is made a child of the owner. Messages without a
//!    usable Message-ID get a container of their own.
//! 2. Each message's own parent, the last entry of its references, is linked
//!    first, for all messages (JWZ step 1C: the message's own word on its parent
//!    beats any guess). Doing all of these before any guess makes the result
//!    independent of the order messages are processed in.
//! 3. Then the references chains are linked parent→child (JWZ step 1B), only for
//!    containers that have no parent yet. Referenced ids never seen become ghost
//!    containers.
//!
//! A link is never made if it would close a loop: every link attaches a
//! parentless container (the root of its tree) below another container, so a
//! loop would arise exactly when both are already in the same tree, which a
//! union-find over trees answers in near-constant time.
//!
//! Pruning: ghosts without a message below them are dropped. Ghosts with
//! children are kept, even a ghost root with a single child, and are never
//! replaced by their children (JWZ would promote them): staff should see that a
//! message in the conversation is missing from the archive.
//!
//! Siblings (and roots) are ordered by date, then key; a ghost sorts by its
//! earliest descendant. All passes are iterative, so a chain of 100,000 replies
//! does not overflow the stack, and [`TreeNode`] drops iteratively for the same
//! reason.

use std::collections::HashMap;

use super::refs::normalize_id;

/// A message as the tree builder needs it.
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    /// Caller's handle for the message (e.g. its row id).
    pub key: i64,
    /// The Message-ID, without angle brackets (surrounding brackets and
    /// whitespace are tolerated and removed).
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
    /// The Message-ID of the message or ghost (normalised; empty for a
    /// message that had none).
    pub message_id: String,
    /// Replies, in date order.
    pub children: Vec<TreeNode>,
}

impl Drop for TreeNode {
    /// Drops the subtree iteratively: the default recursive drop would
    /// overflow the stack on a very deep thread.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

/// Sort key of a sibling: (date, key) of the message, or of the earliest
/// message below a ghost.
type SortKey = (i64, i64);

/// A slot for one Message-ID (or one duplicate / id-less message).
struct Container {
    message_id: String,
    /// The message in this container, if it is not a ghost.
    message: Option<(i64, i64)>,
    parent: Option<usize>,
}

/// The containers and the union-find over their trees.
struct Forest {
    containers: Vec<Container>,
    by_id: HashMap<String, usize>,
    /// Union-find parent; a set is one tree of the container forest.
    set_parent: Vec<usize>,
    set_size: Vec<usize>,
}

impl Forest {
    fn new(capacity: usize) -> Self {
        Forest {
            containers: Vec::with_capacity(capacity),
            by_id: HashMap::with_capacity(capacity),
            set_parent: Vec::with_capacity(capacity),
            set_size: Vec::with_capacity(capacity),
        }
    }

    /// A new parentless container, not registered under its id.
    fn push(&mut self, message_id: String, message: Option<(i64, i64)>) -> usize {
        let index = self.containers.len();
        self.containers.push(Container {
            message_id,
            message,
            parent: None,
        });
        self.set_parent.push(index);
        self.set_size.push(1);
        index
    }

    /// The container registered for `id`, creating a ghost if there is none.
    fn container_for(&mut self, id: &str) -> usize {
        if let Some(&index) = self.by_id.get(id) {
            return index;
        }
        let index = self.push(id.to_string(), None);
        self.by_id.insert(id.to_string(), index);
        index
    }

    /// The representative of the tree containing `x` (with path compression).
    fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.set_parent[root] != root {
            root = self.set_parent[root];
        }
        let mut cur = x;
        while self.set_parent[cur] != root {
            let next = self.set_parent[cur];
            self.set_parent[cur] = root;
            cur = next;
        }
        root
    }

    /// Makes `child` a child of `parent` unless `child` already has a parent
    /// or the link would close a loop. Returns whether the link was made.
    fn link(&mut self, parent: usize, child: usize) -> bool {
        if parent == child || self.containers[child].parent.is_some() {
            return false;
        }
        // `child` has no parent, so it is the root of its tree; `parent` is in
        // that tree exactly when `child` is one of its ancestors.
        let (a, b) = (self.find(parent), self.find(child));
        if a == b {
            return false;
        }
        self.containers[child].parent = Some(parent);
        let (big, small) = if self.set_size[a] >= self.set_size[b] {
            (a, b)
        } else {
            (b, a)
        };
        self.set_parent[small] = big;
        self.set_size[big] += self.set_size[small];
        true
    }
}

/// Per-message bookkeeping after containers have been assigned.
struct Placed {
    /// The message's own container.
    container: usize,
    /// For a duplicate, the container of the earliest message with its id.
    owner: Option<usize>,
    /// Containers of its references, oldest first, without repeats and
    /// without the message's own id.
    refs: Vec<usize>,
}

/// Builds the forest of a thread: roots and children in date order. Robust to
/// reference loops, self-references, duplicate Message-IDs (the first by
/// date is the node, later ones become its children) and garbage. Every input
/// message appears exactly once.
pub fn build(messages: &[ThreadMessage]) -> Vec<TreeNode> {
    let mut sorted: Vec<(usize, &ThreadMessage)> = messages.iter().enumerate().collect();
    sorted.sort_by_key(|(i, m)| (m.date, m.key, *i));

    let mut forest = Forest::new(messages.len() * 2);

    // Containers for the messages themselves, earliest first, so the earliest
    // of several messages with one Message-ID owns the container.
    let mut own: Vec<(usize, Option<usize>)> = Vec::with_capacity(sorted.len());
    for (_, m) in &sorted {
        let sort_key = Some((m.date, m.key));
        let slot = match normalize_id(&m.message_id) {
            None => (forest.push(String::new(), sort_key), None),
            Some(id) => match forest.by_id.get(&id) {
                Some(&owner) => (forest.push(id, sort_key), Some(owner)),
                None => {
                    let index = forest.push(id.clone(), sort_key);
                    forest.by_id.insert(id, index);
                    (index, None)
                }
            },
        };
        own.push(slot);
    }

    // References as containers (ghosts for ids never seen), cleaned.
    let mut seen_stamp: Vec<usize> = Vec::new();
    let mut placed: Vec<Placed> = Vec::with_capacity(sorted.len());
    for (stamp, ((_, m), (container, owner))) in sorted.iter().zip(own).enumerate() {
        let self_container = owner.unwrap_or(container);
        let mut refs = Vec::with_capacity(m.references.len());
        for raw in &m.references {
            let Some(id) = normalize_id(raw) else {
                continue;
            };
            let c = forest.container_for(&id);
            if seen_stamp.len() <= c {
                seen_stamp.resize(c + 1, usize::MAX);
            }
            if c == self_container || seen_stamp[c] == stamp {
                continue;
            }
            seen_stamp[c] = stamp;
            refs.push(c);
        }
        placed.push(Placed {
            container,
            owner,
            refs,
        });
    }

    // Each message's own parent first (JWZ 1C), then the guesses (JWZ 1B).
    for p in &placed {
        match (p.owner, p.refs.last()) {
            (Some(owner), _) => {
                forest.link(owner, p.container);
            }
            (None, Some(&parent)) => {
                forest.link(parent, p.container);
            }
            (None, None) => {}
        }
    }
    for p in &placed {
        for pair in p.refs.windows(2) {
            if let [parent, child] = *pair {
                forest.link(parent, child);
            }
        }
    }

    assemble(forest.containers)
}

/// Turns linked containers into sorted, pruned [`TreeNode`]s, iteratively.
fn assemble(containers: Vec<Container>) -> Vec<TreeNode> {
    let n = containers.len();
    let mut ids: Vec<String> = Vec::with_capacity(n);
    let mut message: Vec<Option<SortKey>> = Vec::with_capacity(n);
    let mut parent: Vec<Option<usize>> = Vec::with_capacity(n);
    for c in containers {
        ids.push(c.message_id);
        message.push(c.message);
        parent.push(c.parent);
    }

    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots: Vec<usize> = Vec::new();
    for (i, p) in parent.iter().enumerate() {
        match *p {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }

    // Parents before children (the parent links are acyclic, so every
    // container is reached from a root).
    let mut order: Vec<usize> = Vec::with_capacity(n);
    order.extend_from_slice(&roots);
    let mut next = 0;
    while let Some(&c) = order.get(next) {
        order.extend_from_slice(&children[c]);
        next += 1;
    }

    // Children before parents: the earliest message in each subtree; `None`
    // means a ghost with no message below it, which is pruned.
    let mut earliest: Vec<Option<SortKey>> = message.clone();
    for &c in order.iter().rev() {
        if let (Some(p), Some(k)) = (parent[c], earliest[c]) {
            earliest[p] = Some(earliest[p].map_or(k, |e| e.min(k)));
        }
    }

    // Siblings by the message's own (date, key), a ghost by its earliest
    // descendant's; the id and container index make the order total.
    let sibling_key = |c: usize| (message[c].or(earliest[c]), ids[c].as_str(), c);
    for kids in &mut children {
        kids.retain(|&k| earliest[k].is_some());
        kids.sort_by(|&a, &b| sibling_key(a).cmp(&sibling_key(b)));
    }
    roots.retain(|&r| earliest[r].is_some());
    roots.sort_by(|&a, &b| sibling_key(a).cmp(&sibling_key(b)));

    let mut built: Vec<Option<TreeNode>> = (0..n).map(|_| None).collect();
    for &c in order.iter().rev() {
        if earliest[c].is_none() {
            continue;
        }
        let kids = std::mem::take(&mut children[c]);
        built[c] = Some(TreeNode {
            key: message[c].map(|(_, key)| key),
            message_id: std::mem::take(&mut ids[c]),
            children: kids.into_iter().filter_map(|k| built[k].take()).collect(),
        });
    }
    roots.into_iter().filter_map(|r| built[r].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashSet};

    fn msg(key: i64, id: &str, refs: &[&str], date: i64) -> ThreadMessage {
        ThreadMessage {
            key,
            message_id: id.to_string(),
            references: refs.iter().map(|r| r.to_string()).collect(),
            date,
        }
    }

    /// Compact rendering: `1(2(3))` for messages by key, `<id>` for ghosts.
    fn render(nodes: &[TreeNode]) -> String {
        nodes
            .iter()
            .map(|n| {
                let head = match n.key {
                    Some(k) => k.to_string(),
                    None => format!("<{}>", n.message_id),
                };
                if n.children.is_empty() {
                    head
                } else {
                    format!("{head}({})", render(&n.children))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn tree(messages: &[ThreadMessage]) -> String {
        render(&build(messages))
    }

    #[test]
    fn simple_chain() {
        let m = [
            msg(1, "a@example.jp", &[], 100),
            msg(2, "b@example.jp", &["a@example.jp"], 200),
            msg(3, "c@example.jp", &["a@example.jp", "b@example.jp"], 300),
        ];
        assert_eq!(tree(&m), "1(2(3))");
        let roots = build(&m);
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].message_id, "a@example.jp");
    }

    #[test]
    fn input_order_does_not_matter() {
        let m = [
            msg(3, "c@x", &["a@x", "b@x"], 300),
            msg(1, "a@x", &[], 100),
            msg(4, "d@x", &["a@x"], 250),
            msg(2, "b@x", &["a@x"], 200),
        ];
        // Siblings 2 (date 200) and 4 (date 250) in date order.
        assert_eq!(tree(&m), "1(2(3) 4)");
    }

    #[test]
    fn missing_parent_becomes_ghost_with_children() {
        let m = [
            msg(7, "reply2@x", &["lost@x"], 500),
            msg(5, "reply1@x", &["lost@x"], 400),
        ];
        assert_eq!(tree(&m), "<lost@x>(5 7)");
        let roots = build(&m);
        assert_eq!(roots[0].key, None);
    }

    #[test]
    fn ghost_sorts_by_earliest_descendant_and_childless_ghosts_vanish() {
        let m = [
            msg(1, "root@x", &[], 100),
            // Replies to a message we never got, itself a reply to root.
            msg(2, "late@x", &["root@x", "gone@x"], 900),
            msg(3, "early@x", &["root@x", "gone@x"], 150),
            msg(4, "mid@x", &["root@x"], 300),
            // References only unknown ids beyond its parent: those ghosts have
            // no children once pruned... except the chain above its parent.
            msg(5, "x@x", &["nowhere1@x", "nowhere2@x", "mid@x"], 400),
        ];
        // Ghost <gone@x> sorts at 150 (its earliest child), before 4 (300).
        // nowhere1/nowhere2 could not be linked above mid@x (it has a parent)
        // and have no message below them, so they are dropped.
        assert_eq!(tree(&m), "1(<gone@x>(3 2) 4(5))");
    }

    #[test]
    fn two_roots() {
        let m = [
            msg(2, "second@x", &[], 200),
            msg(1, "first@x", &[], 100),
            msg(3, "reply@x", &["second@x"], 300),
        ];
        assert_eq!(tree(&m), "1 2(3)");
    }

    #[test]
    fn reference_loop() {
        let m = [msg(1, "a@x", &["b@x"], 100), msg(2, "b@x", &["a@x"], 200)];
        // a (earliest) is linked first under b; b's link under a would close
        // the loop and is refused.
        assert_eq!(tree(&m), "2(1)");
        let m3 = [
            msg(1, "a@x", &["c@x"], 100),
            msg(2, "b@x", &["a@x"], 200),
            msg(3, "c@x", &["b@x"], 300),
        ];
        assert_eq!(tree(&m3), "3(1(2))");
        // A loop inside one References header.
        let m4 = [msg(1, "z@x", &["p@x", "q@x", "p@x", "q@x"], 100)];
        assert_eq!(tree(&m4), "<p@x>(<q@x>(1))");
    }

    #[test]
    fn self_reference_is_ignored() {
        let m = [
            msg(1, "a@x", &["a@x"], 100),
            msg(2, "b@x", &["a@x", "b@x"], 200),
            msg(3, "c@x", &["c@x", "c@x"], 300),
        ];
        assert_eq!(tree(&m), "1(2) 3");
    }

    #[test]
    fn duplicate_message_id() {
        let m = [
            // The later copy (e.g. the same mail in Sent and in Inbox).
            msg(10, "dup@x", &["root@x"], 500),
            msg(11, "dup@x", &["root@x"], 300),
            msg(1, "root@x", &[], 100),
            msg(12, "answer@x", &["root@x", "dup@x"], 400),
        ];
        // 11 is the earliest and owns the container; 10 hangs below it,
        // after the reply 12 (date 400 < 500).
        assert_eq!(tree(&m), "1(11(12 10))");
        // Same date: the smaller key owns it.
        let same = [msg(8, "d@x", &[], 100), msg(6, "d@x", &[], 100)];
        assert_eq!(tree(&same), "6(8)");
    }

    #[test]
    fn own_last_reference_beats_guess_from_other_references() {
        // C's References say A then B, but B itself says its parent is Z.
        let grand = "a@x";
        let c_refs = [grand, "b@x"];
        for (b_date, c_date) in [(200, 300), (300, 200)] {
            let m = [
                msg(1, "a@x", &[], 100),
                msg(2, "b@x", &["z@x"], b_date),
                msg(3, "c@x", &c_refs, c_date),
            ];
            assert_eq!(tree(&m), "1 <z@x>(2(3))", "b at {b_date}, c at {c_date}");
        }
        // Without its own references B takes the guess from C's chain.
        let m = [
            msg(1, "a@x", &[], 100),
            msg(2, "b@x", &[], 200),
            msg(3, "c@x", &c_refs, 300),
        ];
        assert_eq!(tree(&m), "1(2(3))");
        // In-Reply-To (appended last) names the parent even when References
        // listed it earlier.
        let m = [
            msg(1, "a@x", &[], 100),
            msg(2, "b@x", &["a@x"], 200),
            msg(3, "c@x", &["a@x", "b@x", "a@x"], 300),
        ];
        assert_eq!(tree(&m), "1(2(3))");
    }

    #[test]
    fn garbage_ids() {
        let m = [
            msg(1, "<a@x>", &[], 100),
            msg(2, "", &["", "<>", "   ", "a@x"], 200),
            msg(3, "  ", &["<a@x>"], 300),
            msg(4, "<>", &[], 50),
        ];
        // Bracketed ids match bare ones; id-less messages are placed by their
        // references and never match each other.
        assert_eq!(tree(&m), "4 1(2 3)");
        let roots = build(&m);
        assert_eq!(roots[1].message_id, "a@x");
        assert_eq!(roots[0].message_id, "");
    }

    #[test]
    fn empty_input() {
        assert!(build(&[]).is_empty());
    }

    /// Walks a chain that should be `keys` from the top, one child each.
    fn assert_chain(roots: &[TreeNode], keys: impl Iterator<Item = i64>) {
        assert_eq!(roots.len(), 1);
        let mut node = roots.first();
        for k in keys {
            let n = node.expect("chain ended early");
            assert_eq!(n.key, Some(k));
            assert!(n.children.len() <= 1);
            node = n.children.first();
        }
        assert!(node.is_none(), "chain longer than expected");
    }

    #[test]
    fn hundred_thousand_deep_chain() {
        const N: i64 = 100_000;
        let id = |i: i64| format!("{i}.chain@example.co.jp");
        let mut m: Vec<ThreadMessage> = (0..N)
            .map(|i| ThreadMessage {
                key: i,
                message_id: id(i),
                references: ((i - 2).max(0)..i).map(id).collect(),
                date: 1_700_000_000 + i,
            })
            .collect();
        m.reverse();
        let start = std::time::Instant::now();
        let roots = build(&m);
        eprintln!("build {:?}", start.elapsed());
        assert_chain(&roots, 0..N);
        eprintln!("walk {:?}", start.elapsed());
        drop(roots);
        eprintln!("drop {:?}", start.elapsed());
        // Clock skew: every reply dated before its parent.
        for msg in &mut m {
            msg.date = -msg.date;
        }
        let roots = build(&m);
        assert_chain(&roots, 0..N);
        drop(roots);
        let elapsed = start.elapsed();
        eprintln!("two 100k chains built and dropped in {elapsed:?}");
        assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
    }

    /// A parent→child edge: (parent id, parent key, child id, child key).
    type Edge = (String, Option<i64>, String, Option<i64>);

    /// Keys of all message nodes (sorted), whether any ghost is a leaf, and
    /// all edges.
    fn walk(roots: &[TreeNode]) -> (Vec<i64>, bool, Vec<Edge>) {
        let mut keys = Vec::new();
        let mut ghost_leaf = false;
        let mut edges = Vec::new();
        let mut stack: Vec<&TreeNode> = roots.iter().collect();
        while let Some(n) = stack.pop() {
            keys.extend(n.key);
            ghost_leaf |= n.key.is_none() && n.children.is_empty();
            for c in &n.children {
                edges.push((n.message_id.clone(), n.key, c.message_id.clone(), c.key));
                stack.push(c);
            }
        }
        keys.sort_unstable();
        (keys, ghost_leaf, edges)
    }

    fn arb_messages() -> impl Strategy<Value = Vec<ThreadMessage>> {
        // Ids 0..6 may belong to messages; 6..9 are only ever referenced.
        let id = prop_oneof![
            8 => (0u8..9).prop_map(|i| format!("m{i}@x")),
            1 => Just(String::new()),
            1 => Just("<>".to_string()),
        ];
        let own = prop_oneof![
            9 => (0u8..6).prop_map(|i| format!("m{i}@x")),
            1 => Just(String::new()),
        ];
        proptest::collection::vec((own, proptest::collection::vec(id, 0..5), 0i64..4), 0..10)
            .prop_map(|v| {
                v.into_iter()
                    .zip(0i64..)
                    .map(|((message_id, references, date), key)| ThreadMessage {
                        key,
                        message_id,
                        references,
                        date,
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn every_message_exactly_once(messages in arb_messages()) {
            let roots = build(&messages);
            let (keys, ghost_leaf, edges) = walk(&roots);
            let expected: Vec<i64> = messages.iter().map(|m| m.key).collect();
            prop_assert_eq!(keys, expected);
            prop_assert!(!ghost_leaf);

            // Every edge is backed by some message's references (or is a
            // duplicate below the earliest copy).
            let mut allowed: HashSet<(String, String)> = HashSet::new();
            let by_key: BTreeMap<i64, &ThreadMessage> =
                messages.iter().map(|m| (m.key, m)).collect();
            for m in &messages {
                let own = normalize_id(&m.message_id).unwrap_or_default();
                let mut seq: Vec<String> = Vec::new();
                for r in m.references.iter().filter_map(|r| normalize_id(r)) {
                    if r != own && !seq.contains(&r) {
                        seq.push(r);
                    }
                }
                seq.push(own);
                for w in seq.windows(2) {
                    allowed.insert((w[0].clone(), w[1].clone()));
                }
            }
            for (pid, pkey, cid, ckey) in edges {
                if pid == cid {
                    let (p, c) = (by_key[&pkey.unwrap()], by_key[&ckey.unwrap()]);
                    prop_assert!((p.date, p.key) < (c.date, c.key));
                } else {
                    prop_assert!(allowed.contains(&(pid.clone(), cid.clone())), "{} -> {}", pid, cid);
                }
            }

            // The result does not depend on the input order.
            let reversed: Vec<ThreadMessage> = messages.iter().rev().cloned().collect();
            prop_assert_eq!(build(&reversed), roots);
        }
    }
}
