//! When and how the index's segments are merged, so that the memory of a
//! merge does not grow with the archive.
//!
//! Every commit adds a segment; searches get slower as they pile up, so
//! segments of about the same size are merged. A merge reads all of its
//! segments through memory maps, and every page it reads counts in the
//! process's resident memory until the merge ends. Left to tantivy's log
//! merge policy, an import of 400,000 messages ended by merging its eight
//! segments into one: 550 MB of index read at once, a 664 MB peak for the
//! whole import; and the merges it starts in the background run while the
//! writer's indexing buffers are full.
//!
//! So kura's writers never merge on their own ([`NoMergePolicy`]). When a
//! command has made its last commit, [`finish`] merges by [`plan`], one
//! merge at a time, with the indexing buffers already released:
//! - segments are grouped by size into levels, as tantivy's log merge
//!   policy does (sizes within a factor of [`LEVEL_RATIO`]);
//! - a level is merged once it has [`MIN_SEGMENTS`] segments (a nightly
//!   import adds one small segment; eight of them become one);
//! - no merge reads more than [`MAX_MERGE_BYTES`]: a level's segments are
//!   merged in groups up to that size, and a segment over half of it is
//!   left as it is. A large archive ends with segments of 128-256 MiB
//!   (about 100,000-200,000 messages each), each search term looked up once
//!   per segment.
//!
//! `kura gc` still merges everything into one segment when asked.

use anyhow::{Context, Result};
use tantivy::directory::Directory;
use tantivy::index::{SegmentComponent, SegmentId};
use tantivy::indexer::NoMergePolicy;
use tantivy::{HasLen, IndexWriter};

/// The most segment bytes one merge reads.
pub const MAX_MERGE_BYTES: u64 = 256 << 20;

/// Segments a level needs before it is merged.
pub const MIN_SEGMENTS: usize = 8;

/// Segments whose sizes are within this factor of the level's largest
/// belong to the level (tantivy's log merge policy: 2^0.75).
pub const LEVEL_RATIO: f64 = 1.681_792_830_507_429;

/// Segments smaller than this (about 3,000 messages) are all of one level.
const MIN_LEVEL_BYTES: u64 = 4 << 20;

/// One segment, as [`plan`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<Id> {
    pub id: Id,
    /// The bytes of its files.
    pub bytes: u64,
}

/// The merges to run, each a list of segment ids, by the rules of the module
/// docs. Every merge has at least two segments and at most
/// [`MAX_MERGE_BYTES`] in all.
pub fn plan<Id: Copy>(segments: &[Segment<Id>]) -> Vec<Vec<Id>> {
    let mut candidates: Vec<&Segment<Id>> = segments
        .iter()
        .filter(|s| s.bytes <= MAX_MERGE_BYTES / 2)
        .collect();
    candidates.sort_by_key(|s| std::cmp::Reverse(s.bytes));
    let mut merges = Vec::new();
    let mut rest = candidates.as_slice();
    while let Some(first) = rest.first() {
        let floor = first.bytes.max(MIN_LEVEL_BYTES) as f64 / LEVEL_RATIO;
        let len = rest
            .iter()
            .position(|s| (s.bytes.max(MIN_LEVEL_BYTES) as f64) < floor)
            .unwrap_or(rest.len());
        let (level, next) = rest.split_at(len);
        if level.len() >= MIN_SEGMENTS {
            merges.extend(groups(level));
        }
        rest = next;
    }
    merges
}

/// A level's segments (largest first) in consecutive groups of at most
/// [`MAX_MERGE_BYTES`]; a group of one is no merge.
fn groups<Id: Copy>(level: &[&Segment<Id>]) -> Vec<Vec<Id>> {
    let mut out = Vec::new();
    let mut group: Vec<Id> = Vec::new();
    let mut bytes = 0;
    for s in level {
        if !group.is_empty() && bytes + s.bytes > MAX_MERGE_BYTES {
            if group.len() > 1 {
                out.push(std::mem::take(&mut group));
            }
            group.clear();
            bytes = 0;
        }
        group.push(s.id);
        bytes += s.bytes;
    }
    if group.len() > 1 {
        out.push(group);
    }
    out
}

/// Makes `writer` leave merging to [`finish`].
pub fn no_background_merges(writer: &IndexWriter) {
    writer.set_merge_policy(Box::new(NoMergePolicy));
}

/// The committed segments of `writer`'s index with their sizes.
fn segments(writer: &IndexWriter) -> Result<Vec<Segment<SegmentId>>> {
    let index = writer.index();
    let metas = index
        .searchable_segment_metas()
        .context("cannot list the index segments")?;
    let dir = index.directory();
    let components = [
        SegmentComponent::Postings,
        SegmentComponent::Positions,
        SegmentComponent::Terms,
        SegmentComponent::FastFields,
        SegmentComponent::FieldNorms,
        SegmentComponent::Store,
        SegmentComponent::Delete,
    ];
    Ok(metas
        .iter()
        .map(|m| Segment {
            id: m.id(),
            bytes: components
                .iter()
                // A file that is not there (a segment without deletes has
                // no delete file) adds nothing.
                .filter_map(|c| dir.open_read(&m.relative_path(c.clone())).ok())
                .map(|f| f.len() as u64)
                .sum(),
        })
        .collect())
}

/// Merges the segments `ids` into one. What a failed merge wrote of its
/// segment (up to the size of the merge, with the disk full) is removed
/// before the error is returned: left, it would keep the disk full, and
/// `kura gc` could not run.
pub fn merge_segments(writer: &mut IndexWriter, ids: &[SegmentId]) -> Result<()> {
    if let Err(e) = writer.merge(ids).wait() {
        let _ = writer.garbage_collect_files().wait();
        return Err(e).context("cannot merge the index segments");
    }
    Ok(())
}

/// Rewrites every committed segment that has deleted documents, one merge
/// per segment, so that what those documents held (their terms, positions
/// and fast fields) is gone from the index's files, not only hidden
/// (`kura erase`). Unused files are removed afterwards. Returns the
/// segments rewritten.
pub fn purge_deleted(writer: &mut IndexWriter) -> Result<usize> {
    // Only the ids are kept: a segment's meta held here would keep its
    // files from the garbage collection.
    let with_deletes: Vec<SegmentId> = writer
        .index()
        .searchable_segment_metas()
        .context("cannot list the index segments")?
        .iter()
        .filter(|m| m.has_deletes())
        .map(|m| m.id())
        .collect();
    for id in &with_deletes {
        merge_segments(writer, &[*id])?;
    }
    writer
        .garbage_collect_files()
        .wait()
        .context("cannot remove unused index files")?;
    Ok(with_deletes.len())
}

/// Ends a writer's work after its last commit: runs the merges `plan`
/// gives, one at a time, until it gives none (each removes the files it
/// merged away), then waits for the writer's threads. Returns the merges
/// run.
pub fn finish(mut writer: IndexWriter) -> Result<usize> {
    let mut merged = 0;
    loop {
        let merges = plan(&segments(&writer)?);
        if merges.is_empty() {
            break;
        }
        for ids in merges {
            merge_segments(&mut writer, &ids)?;
            merged += 1;
        }
    }
    writer
        .wait_merging_threads()
        .context("cannot finish the index writer")?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    fn segs(sizes: &[u64]) -> Vec<Segment<usize>> {
        sizes
            .iter()
            .enumerate()
            .map(|(id, &bytes)| Segment { id, bytes })
            .collect()
    }

    fn plan_of(sizes_mb: &[u64]) -> Vec<Vec<usize>> {
        let sizes: Vec<u64> = sizes_mb.iter().map(|s| s * MB).collect();
        plan(&segs(&sizes))
    }

    #[test]
    fn fewer_than_eight_of_a_size_are_left_alone() {
        assert!(plan_of(&[]).is_empty());
        assert!(plan_of(&[68; 7]).is_empty());
        // Seven nightly segments and a big one: no level has eight.
        assert!(plan_of(&[300, 1, 1, 1, 1, 1, 1, 1]).is_empty());
    }

    #[test]
    fn eight_small_segments_become_one() {
        assert_eq!(
            plan_of(&[1, 1, 2, 1, 1, 1, 1, 1, 1000]),
            vec![vec![2, 0, 1, 3, 4, 5, 6, 7]]
        );
        // Tiny segments are one level whatever their ratio.
        let tiny = segs(&[10, 1000, 50_000, 3, 900, 70_000, 1, 2]);
        assert_eq!(plan(&tiny).len(), 1);
    }

    #[test]
    fn large_levels_are_merged_in_groups_under_the_cap() {
        // The eight batch segments of a 400,000 message import.
        let merges = plan_of(&[68; 8]);
        assert_eq!(merges, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        let sizes = segs(&[68 * MB; 20]);
        for m in plan(&sizes) {
            assert!(m.len() >= 2);
            assert!(m.len() as u64 * 68 * MB <= MAX_MERGE_BYTES);
        }
        // Segments over half the cap are never merged again.
        assert!(plan_of(&[129; 16]).is_empty());
        // A level of nine, the last left over: no merge of one.
        assert_eq!(plan_of(&[100; 9]).len(), 4);
    }

    #[test]
    fn levels_are_by_size_ratio() {
        // 8 of ~40 MB and 8 of ~10 MB: two levels, two kinds of merge.
        let mut sizes = vec![40, 41, 39, 40, 42, 38, 40, 40];
        sizes.extend([10, 11, 9, 10, 10, 10, 12, 10]);
        let merges = plan_of(&sizes);
        let small: Vec<usize> = (8..16).collect();
        assert!(
            merges
                .iter()
                .all(|m| { m.iter().all(|i| *i < 8) || m.iter().all(|i| small.contains(i)) })
        );
        assert!(merges.iter().any(|m| m.iter().all(|i| small.contains(i))));
        // 40 MB and 20 MB segments are not one level (a factor of 2).
        assert!(plan_of(&[40, 40, 40, 40, 20, 20, 20, 20]).is_empty());
    }

    #[test]
    fn segment_sizes_are_the_bytes_of_their_files() {
        let index = tantivy::Index::create_in_ram(crate::index::schema().0);
        crate::tokenizer::register(&index);
        let fields = crate::index::fields_of(&index).unwrap();
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        no_background_merges(&writer);
        for n in [1usize, 200] {
            for i in 0..n {
                let mut doc = tantivy::TantivyDocument::new();
                doc.add_text(fields.body, format!("請求書 invoice {i} 第{i}回"));
                doc.add_u64(fields.id, i as u64);
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        let mut sizes: Vec<u64> = segments(&writer).unwrap().iter().map(|s| s.bytes).collect();
        sizes.sort();
        assert_eq!(sizes.len(), 2);
        assert!(sizes[0] > 0 && sizes[1] > 2 * sizes[0], "{sizes:?}");
        // A delete adds a file to the segment it hits (id 5, of the larger).
        writer
            .delete_query(crate::index::id_set_query(&[5]))
            .unwrap();
        writer.commit().unwrap();
        let mut after: Vec<u64> = segments(&writer).unwrap().iter().map(|s| s.bytes).collect();
        after.sort();
        assert!(after[0] == sizes[0] && after[1] > sizes[1], "{after:?}");
        assert_eq!(finish(writer).unwrap(), 0);
    }

    /// A size near the edges `plan` draws lines at: tiny, the level of
    /// tiny ones, either side of a level ratio, half the cap, the cap.
    fn edge_size() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        prop_oneof![
            1u64..64 * 1024,
            (MIN_LEVEL_BYTES - 4096)..(MIN_LEVEL_BYTES + 4096),
            MB..(8 * MB),
            (MAX_MERGE_BYTES / 2 - 4096)..(MAX_MERGE_BYTES / 2 + 4096),
            (MAX_MERGE_BYTES - 4096)..(MAX_MERGE_BYTES + 4096),
            1u64..(400 * MB),
        ]
    }

    proptest::proptest! {
        /// `finish` re-plans after each round of merges until nothing is
        /// planned: whatever the sizes, and whether a merge shrinks its
        /// segments (deletes dropped) or grows them a little, that ends; each
        /// merge is of one level, of two segments or more, under the cap,
        /// and no segment is in two merges of a round.
        #[test]
        fn replanning_ends(
            sizes in proptest::collection::vec(edge_size(), 0..120),
            shrink in proptest::collection::vec(30u64..=110, 1..16),
        ) {
            let mut live: Vec<Segment<usize>> = segs(&sizes);
            let mut next_id = live.len();
            let mut rounds = 0;
            let mut merges_run = 0;
            loop {
                let merges = plan(&live);
                if merges.is_empty() {
                    break;
                }
                rounds += 1;
                let mut seen = std::collections::HashSet::new();
                for m in &merges {
                    proptest::prop_assert!(m.len() >= 2);
                    let of: Vec<u64> = m
                        .iter()
                        .map(|id| live.iter().find(|s| s.id == *id).unwrap().bytes)
                        .collect();
                    let total: u64 = of.iter().sum();
                    proptest::prop_assert!(total <= MAX_MERGE_BYTES, "{of:?}");
                    let hi = of.iter().max().unwrap().max(&MIN_LEVEL_BYTES);
                    let lo = of.iter().min().unwrap().max(&MIN_LEVEL_BYTES);
                    proptest::prop_assert!(*hi as f64 / *lo as f64 <= LEVEL_RATIO, "{of:?}");
                    for id in m {
                        proptest::prop_assert!(seen.insert(*id), "{id} in two merges");
                    }
                    // Merged: the segments go, one of about their sum comes.
                    let pct = shrink[merges_run % shrink.len()];
                    live.retain(|s| !m.contains(&s.id));
                    live.push(Segment { id: next_id, bytes: (total * pct / 100).max(1) });
                    next_id += 1;
                    merges_run += 1;
                }
                // Every merge takes a segment away at least.
                proptest::prop_assert!(rounds <= sizes.len());
            }
            proptest::prop_assert!(merges_run < sizes.len().max(1));
        }
    }

    #[test]
    fn no_merge_is_over_the_cap_or_single() {
        // Sizes of every kind, in a deterministic spread.
        let mut x: u64 = 7;
        let mut sizes = Vec::new();
        for _ in 0..200 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            sizes.push((x >> 33) % (300 * MB));
        }
        let segments = segs(&sizes);
        let merges = plan(&segments);
        assert!(!merges.is_empty());
        let mut seen = std::collections::HashSet::new();
        for m in &merges {
            assert!(m.len() >= 2);
            let bytes: u64 = m.iter().map(|&i| sizes[i]).sum();
            assert!(bytes <= MAX_MERGE_BYTES, "{bytes}");
            for &i in m {
                assert!(seen.insert(i), "segment {i} in two merges");
            }
        }
    }
}
