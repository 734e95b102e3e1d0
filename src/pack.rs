//! The original bytes of every message, compressed and appended to pack files.
//!
//! Each message is one zstd frame appended to `originals/pack-NNNNNN.zst`; the
//! store records (pack, offset, length) and a BLAKE3 hash of the original
//! bytes. Packs are append-only: a crash can only leave bytes past the length
//! the store committed, and [`PackWriter::open`] cuts them off, so a rerun
//! appends where the last committed import ended. Packs roll over at
//! [`PACK_LIMIT`] bytes. The one change in place is `kura erase`'s:
//! [`zero_frames`] overwrites an erased message's frame with zeros.
//!
//! Frames are compressed with a zstd dictionary trained on the archive's own
//! mail (`originals/dict-NNNNNNNNNN.zdict`, named by the dictionary id that
//! every frame made with it carries in its header): mail headers repeat from
//! message to message, so a dictionary compresses single messages much better
//! and faster. The first import with enough mail trains it from its first
//! [`DICT_SAMPLES`] messages ([`DictionaryTrainer`]); messages before that,
//! and archives written before dictionaries existed, have plain frames.
//! A dictionary is written and synced before any frame uses it, and never
//! changes or goes away.

use crate::archive::private_file_options;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

/// A pack is closed and a new one started past this size.
pub const PACK_LIMIT: u64 = 1 << 30;

/// zstd level for originals: level 1 is fast and still halves typical mail.
pub const ZSTD_LEVEL: i32 = 1;

/// Messages a dictionary is trained on (`KURA_TEST_DICT_SAMPLES` overrides
/// it, for tests).
pub const DICT_SAMPLES: usize = 1000;

/// The most of one message a training sample takes (headers and the start of
/// the body are what repeats).
pub(crate) const DICT_SAMPLE_BYTES: usize = 16 << 10;

/// Largest dictionary trained.
const DICT_MAX_BYTES: usize = 64 << 10;

/// Where one original lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackRef {
    pub pack: u32,
    pub offset: u64,
    pub len: u32,
}

/// A compressed original, ready to append (compressed on a parse thread).
#[derive(Debug, Clone)]
pub struct Compressed {
    pub frame: Vec<u8>,
    pub raw_len: usize,
    pub hash: [u8; 32],
}

/// A zstd dictionary for originals, prepared for compression.
pub struct Dictionary {
    id: u32,
    cdict: CDict<'static>,
}

impl Dictionary {
    fn new(bytes: &[u8]) -> Option<Dictionary> {
        let id = zstd_safe::get_dict_id_from_dict(bytes)?.get();
        let cdict = CDict::try_create(bytes, ZSTD_LEVEL)?;
        Some(Dictionary { id, cdict })
    }

    pub fn id(&self) -> u32 {
        self.id
    }
}

/// The file of dictionary `id` in the originals directory.
pub fn dict_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("dict-{id:010}.zdict"))
}

/// The dictionary files in `dir` (`dict-*.zdict`), sorted by name.
pub fn dictionary_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("dict-") && n.ends_with(".zdict")
            })
            .map(|e| e.path())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    paths.sort();
    Ok(paths)
}

/// Whether a dictionary in `dir` holds one of `needles` (compared in ASCII
/// lower case): a dictionary is made of pieces of the mail it was trained
/// on, addresses and Message-IDs among them.
pub fn dictionaries_hold(dir: &Path, needles: &[String]) -> Result<bool> {
    for path in dictionary_files(dir)? {
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .to_ascii_lowercase();
        let found = needles.iter().any(|n| {
            n.len() >= 6
                && memchr::memmem::find(&bytes, n.to_ascii_lowercase().as_bytes()).is_some()
        });
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The archive's dictionary: the first `dict-*.zdict` (by name) that loads.
fn load_dictionary(dir: &Path) -> Result<Option<Arc<Dictionary>>> {
    for path in dictionary_files(dir)? {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if let Some(d) = Dictionary::new(&bytes) {
            return Ok(Some(Arc::new(d)));
        }
    }
    Ok(None)
}

/// Trains a dictionary on `samples` (concatenated, `sizes` each) and stores it
/// durably in `dir` (temporary file, sync, rename, sync of the folder). `None`
/// when zstd finds nothing worth a dictionary in the samples.
fn train_dictionary(
    dir: &Path,
    samples: &[u8],
    sizes: &[usize],
) -> Result<Option<Arc<Dictionary>>> {
    match trained_dictionary(samples, sizes) {
        Some((bytes, dict)) => store_dictionary(dir, &bytes, dict).map(Some),
        None => Ok(None),
    }
}

/// A dictionary trained on `samples` (concatenated, `sizes` each), with its
/// bytes; `None` when zstd finds nothing worth a dictionary in them.
pub(crate) fn trained_dictionary(samples: &[u8], sizes: &[usize]) -> Option<(Vec<u8>, Dictionary)> {
    let max = DICT_MAX_BYTES.min(samples.len() / 8);
    let bytes = zstd::dict::from_continuous(samples, sizes, max).ok()?;
    let dict = Dictionary::new(&bytes)?;
    Some((bytes, dict))
}

/// Stores `dict`, trained as `bytes`, durably in `dir` (temporary file, sync,
/// rename, sync of the folder); nothing is written when it is there already.
pub(crate) fn store_dictionary(
    dir: &Path,
    bytes: &[u8],
    dict: Dictionary,
) -> Result<Arc<Dictionary>> {
    let path = dict_path(dir, dict.id);
    // The id is a hash of the content: a file of that id with other bytes
    // (a collision) must not be replaced, as its frames need it.
    if let Ok(existing) = std::fs::read(&path) {
        if existing == bytes {
            return Ok(Arc::new(dict));
        }
        bail!(
            "a new dictionary would replace {}, which holds another one",
            path.display()
        );
    }
    let tmp = path.with_extension("zdict.tmp");
    let mut f = private_file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    Ok(Arc::new(dict))
}

/// The dictionary an import compresses with: the archive's, or one trained
/// from the import's first messages, which parse threads offer as they go.
pub struct DictionaryTrainer {
    dir: PathBuf,
    wanted: usize,
    dict: OnceLock<Arc<Dictionary>>,
    /// No more samples are taken (trained, failed, or a dictionary existed).
    closed: AtomicBool,
    samples: Mutex<Samples>,
    error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Samples {
    data: Vec<u8>,
    sizes: Vec<usize>,
}

impl DictionaryTrainer {
    /// A trainer for the archive's originals directory: uses the dictionary
    /// there, else trains one from the first `wanted` messages offered.
    pub fn new(dir: &Path, wanted: usize) -> Result<DictionaryTrainer> {
        let trainer = DictionaryTrainer {
            dir: dir.to_path_buf(),
            wanted: wanted.max(1),
            dict: OnceLock::new(),
            closed: AtomicBool::new(false),
            samples: Mutex::new(Samples::default()),
            error: Mutex::new(None),
        };
        if let Some(d) = load_dictionary(dir)? {
            let _ = trainer.dict.set(d);
            trainer.closed.store(true, Ordering::Release);
        }
        Ok(trainer)
    }

    /// A trainer that takes no samples: it compresses with `dict` (or
    /// without a dictionary when `None`).
    pub fn holding(dict: Option<Arc<Dictionary>>) -> DictionaryTrainer {
        let trainer = DictionaryTrainer {
            dir: PathBuf::new(),
            wanted: 1,
            dict: OnceLock::new(),
            closed: AtomicBool::new(true),
            samples: Mutex::new(Samples::default()),
            error: Mutex::new(None),
        };
        if let Some(d) = dict {
            let _ = trainer.dict.set(d);
        }
        trainer
    }

    /// The dictionary to compress with, once there is one.
    pub fn current(&self) -> Option<&Dictionary> {
        self.dict.get().map(|d| &**d)
    }

    /// Offers a message as a training sample. The call that completes the
    /// samples trains and stores the dictionary (a fraction of a second, on
    /// that parse thread; the others go on without it meanwhile).
    pub fn offer(&self, raw: &[u8]) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let full = {
            let Ok(mut s) = self.samples.lock() else {
                return;
            };
            if s.sizes.len() >= self.wanted {
                return;
            }
            let take = &raw[..raw.len().min(DICT_SAMPLE_BYTES)];
            s.data.extend_from_slice(take);
            s.sizes.push(take.len());
            (s.sizes.len() == self.wanted).then(|| std::mem::take(&mut *s))
        };
        if let Some(samples) = full {
            self.closed.store(true, Ordering::Release);
            match train_dictionary(&self.dir, &samples.data, &samples.sizes) {
                Ok(Some(d)) => {
                    let _ = self.dict.set(d);
                }
                Ok(None) => {}
                Err(e) => {
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(format!("{e:#} (originals are stored without a dictionary)"));
                    }
                }
            }
        }
    }

    /// Why the dictionary could not be stored, if it could not.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }
}

/// Compresses and hashes originals, reusing one zstd context (one per thread).
pub struct Compressor {
    cctx: CCtx<'static>,
    dictionaries: Option<Arc<DictionaryTrainer>>,
}

impl Compressor {
    /// A compressor that uses no dictionary.
    pub fn new() -> Result<Compressor> {
        let cctx = CCtx::try_create().context("cannot set up zstd")?;
        Ok(Compressor {
            cctx,
            dictionaries: None,
        })
    }

    /// A compressor that offers every original to `trainer` and uses its
    /// dictionary once there is one.
    pub fn with_dictionaries(trainer: Arc<DictionaryTrainer>) -> Result<Compressor> {
        let mut c = Compressor::new()?;
        c.dictionaries = Some(trainer);
        Ok(c)
    }

    /// Compresses and hashes an original message.
    pub fn compress(&mut self, raw: &[u8]) -> Result<Compressed> {
        let dict = self.dictionaries.as_deref().and_then(|t| {
            t.offer(raw);
            t.current()
        });
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(raw.len()));
        let written = match dict {
            Some(d) => self.cctx.compress_using_cdict(&mut frame, raw, &d.cdict),
            None => self.cctx.compress(&mut frame, raw, ZSTD_LEVEL),
        };
        written.map_err(|code| {
            anyhow::anyhow!(
                "zstd compression failed: {}",
                zstd_safe::get_error_name(code)
            )
        })?;
        Ok(Compressed {
            frame,
            raw_len: raw.len(),
            hash: *blake3::hash(raw).as_bytes(),
        })
    }
}

/// Compresses and hashes one original without a dictionary (see
/// [`Compressor`] for many).
pub fn compress(raw: &[u8]) -> Result<Compressed> {
    Compressor::new()?.compress(raw)
}

pub fn pack_path(dir: &Path, pack: u32) -> PathBuf {
    dir.join(format!("pack-{pack:06}.zst"))
}

/// Overwrites the frames at `refs` with zeros and syncs their packs, so that
/// nothing of the originals they held is left (`kura erase`). The packs keep
/// their length, so every other frame stays where the store says it is.
/// Returns the bytes overwritten.
pub fn zero_frames(dir: &Path, refs: &[PackRef]) -> Result<u64> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let mut by_pack: Vec<&PackRef> = refs.iter().collect();
    by_pack.sort_by_key(|r| (r.pack, r.offset));
    let mut zeroed = 0u64;
    for group in by_pack.chunk_by(|a, b| a.pack == b.pack) {
        let path = pack_path(dir, group[0].pack);
        let file = File::options()
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {} to erase originals", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot read the size of {}", path.display()))?
            .len();
        // All are checked before any is written.
        if let Some(r) = group
            .iter()
            .find(|r| r.offset.saturating_add(u64::from(r.len)) > len)
        {
            bail!(
                "cannot erase {} bytes at offset {} of {}: the pack has only {len} bytes",
                r.len,
                r.offset,
                path.display()
            );
        }
        for r in group {
            let end = r.offset + u64::from(r.len);
            let mut at = r.offset;
            while at < end {
                let n = (end - at).min(ZEROS.len() as u64);
                file.write_all_at(&ZEROS[..n as usize], at)
                    .with_context(|| format!("cannot erase originals in {}", path.display()))?;
                at += n;
            }
            zeroed += u64::from(r.len);
        }
        file.sync_all()
            .with_context(|| format!("cannot sync {}", path.display()))?;
    }
    Ok(zeroed)
}

/// Appends frames to the current pack.
pub struct PackWriter {
    dir: PathBuf,
    pack: u32,
    file: File,
    len: u64,
    buf: Vec<u8>,
}

impl PackWriter {
    /// Opens pack `pack` for appending, cutting it to `committed_len` (what the
    /// store knows about; anything beyond is from an interrupted import).
    pub fn open(dir: &Path, pack: u32, committed_len: u64) -> Result<PackWriter> {
        let path = pack_path(dir, pack);
        let file = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let actual = file.metadata()?.len();
        if actual < committed_len {
            bail!(
                "{} is shorter ({} bytes) than the archive records ({} bytes): originals were lost; run `kura check`",
                path.display(),
                actual,
                committed_len
            );
        }
        if actual > committed_len {
            file.set_len(committed_len)
                .with_context(|| format!("cannot truncate {}", path.display()))?;
        }
        Ok(PackWriter {
            dir: dir.to_path_buf(),
            pack,
            file,
            len: committed_len,
            buf: Vec::new(),
        })
    }

    /// Appends a frame (buffered until [`PackWriter::sync`]).
    pub fn append(&mut self, frame: &[u8]) -> Result<PackRef> {
        if self.len + frame.len() as u64 > PACK_LIMIT && self.len > 0 {
            self.flush()?;
            self.file.sync_all()?;
            let next = self.pack + 1;
            *self = PackWriter::open(&self.dir, next, 0)?;
        }
        let r = PackRef {
            pack: self.pack,
            offset: self.len,
            len: u32::try_from(frame.len()).context("compressed message over 4 GiB")?,
        };
        self.buf.extend_from_slice(frame);
        self.len += frame.len() as u64;
        if self.buf.len() > 8 << 20 {
            self.flush()?;
        }
        Ok(r)
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            // Positional write: the buffer starts where the flushed data ends.
            let at = self.len - self.buf.len() as u64;
            self.file.write_all_at(&self.buf, at).with_context(|| {
                format!("cannot write {}", pack_path(&self.dir, self.pack).display())
            })?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes buffered frames and makes them durable; returns (pack, length)
    /// for the store to commit.
    pub fn sync(&mut self) -> Result<(u32, u64)> {
        self.flush()?;
        self.file.sync_data().with_context(|| {
            format!("cannot sync {}", pack_path(&self.dir, self.pack).display())
        })?;
        Ok((self.pack, self.len))
    }
}

/// Where an original lives, for messages.
fn place(dir: &Path, r: PackRef) -> String {
    format!(
        "offset {} of {}",
        r.offset,
        pack_path(dir, r.pack).display()
    )
}

/// Reads originals back.
pub struct PackReader {
    dir: PathBuf,
    open: Vec<(u32, File)>,
    dctx: Option<DCtx<'static>>,
    /// Dictionaries by id, loaded when a frame first names one.
    dicts: HashMap<u32, DDict<'static>>,
}

impl PackReader {
    pub fn new(dir: &Path) -> PackReader {
        PackReader {
            dir: dir.to_path_buf(),
            open: Vec::new(),
            dctx: None,
            dicts: HashMap::new(),
        }
    }

    fn file(&mut self, pack: u32) -> Result<&File> {
        if let Some(i) = self.open.iter().position(|(p, _)| *p == pack) {
            return Ok(&self.open[i].1);
        }
        let path = pack_path(&self.dir, pack);
        let f = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        self.open.push((pack, f));
        Ok(&self.open[self.open.len() - 1].1)
    }

    /// The compressed frame at `r`.
    pub fn read_frame(&mut self, r: PackRef) -> Result<Vec<u8>> {
        let dir = self.dir.clone();
        let f = self.file(r.pack)?;
        let mut frame = vec![0u8; r.len as usize];
        f.read_exact_at(&mut frame, r.offset).with_context(|| {
            format!(
                "cannot read {} bytes at offset {} of {}",
                r.len,
                r.offset,
                pack_path(&dir, r.pack).display()
            )
        })?;
        Ok(frame)
    }

    /// Loads dictionary `id` into `dicts` unless it is there already.
    fn load_ddict(&mut self, id: u32) -> Result<()> {
        if !self.dicts.contains_key(&id) {
            let path = dict_path(&self.dir, id);
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "cannot read {}, the zstd dictionary of originals",
                    path.display()
                )
            })?;
            let ddict = DDict::try_create(&bytes)
                .with_context(|| format!("{} is not a zstd dictionary", path.display()))?;
            self.dicts.insert(id, ddict);
        }
        Ok(())
    }

    /// The original bytes at `r`, checked against what the store recorded:
    /// `raw_len` bytes with BLAKE3 hash `hash`. A damaged original is an
    /// error (naming its place), never handed out.
    pub fn read(&mut self, r: PackRef, raw_len: usize, hash: &[u8]) -> Result<Vec<u8>> {
        let frame = self.read_frame(r)?;
        let dict_id = zstd_safe::get_dict_id_from_frame(&frame).map(|id| id.get());
        if let Some(id) = dict_id
            && let Err(e) = self.load_ddict(id)
        {
            return Err(e).with_context(|| {
                format!("cannot decompress the original at {}", place(&self.dir, r))
            });
        }
        if self.dctx.is_none() {
            self.dctx = Some(DCtx::try_create().context("cannot set up zstd")?);
        }
        let dctx = self.dctx.as_mut().context("zstd context")?;
        let mut raw = Vec::with_capacity(raw_len.max(1));
        let done = match dict_id.and_then(|id| self.dicts.get(&id)) {
            Some(ddict) => dctx.decompress_using_ddict(&mut raw, &frame, ddict),
            None => dctx.decompress(&mut raw, &frame),
        };
        if let Err(code) = done {
            bail!(
                "original at {} is corrupt ({})",
                place(&self.dir, r),
                zstd_safe::get_error_name(code)
            );
        }
        if raw.len() != raw_len {
            bail!(
                "original at {} has {} bytes, expected {}",
                place(&self.dir, r),
                raw.len(),
                raw_len
            );
        }
        if blake3::hash(&raw).as_bytes()[..] != *hash {
            bail!(
                "original at {} does not match its recorded BLAKE3 hash (damaged)",
                place(&self.dir, r)
            );
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_and_cut_uncommitted_tail() {
        let dir = tempfile::tempdir().unwrap();
        let a = compress(b"From: a@example.com\n\nhello\n").unwrap();
        let b = compress("Subject: 請求書\n\n本文\n".as_bytes()).unwrap();
        let mut w = PackWriter::open(dir.path(), 1, 0).unwrap();
        let ra = w.append(&a.frame).unwrap();
        let (pack, len) = w.sync().unwrap();
        assert_eq!((pack, len), (1, a.frame.len() as u64));
        // An append that was never committed is cut off at reopen.
        let rb = w.append(&b.frame).unwrap();
        w.sync().unwrap();
        drop(w);
        let mut w = PackWriter::open(dir.path(), 1, len).unwrap();
        let rb2 = w.append(&b.frame).unwrap();
        w.sync().unwrap();
        assert_eq!(rb, rb2, "the uncommitted frame's space is reused");
        let mut r = PackReader::new(dir.path());
        assert_eq!(
            r.read(ra, a.raw_len, &a.hash).unwrap(),
            b"From: a@example.com\n\nhello\n"
        );
        assert_eq!(
            r.read(rb2, b.raw_len, &b.hash).unwrap(),
            "Subject: 請求書\n\n本文\n".as_bytes()
        );
        assert_eq!(
            b.hash,
            *blake3::hash("Subject: 請求書\n\n本文\n".as_bytes()).as_bytes()
        );
        // Bytes that are not what the store recorded are an error, not output.
        let err = r.read(rb2, b.raw_len, &a.hash).unwrap_err();
        assert!(format!("{err:#}").contains("does not match its recorded BLAKE3 hash"));
    }

    #[test]
    fn dictionary_frames_and_plain_frames_share_a_pack() {
        let dir = tempfile::tempdir().unwrap();
        let mail = |i: usize| {
            format!(
                "From: sato{i}@kyowa.co.jp\nTo: info@example.co.jp\nSubject: 請求書 {i}\n\n\
                 いつもお世話になっております。請求書番号 {i} を送付いたします。\n"
            )
            .into_bytes()
        };
        let trainer = Arc::new(DictionaryTrainer::new(dir.path(), 40).unwrap());
        let mut c = Compressor::with_dictionaries(trainer.clone()).unwrap();
        let mut w = PackWriter::open(dir.path(), 1, 0).unwrap();
        let mut refs = Vec::new();
        for i in 0..60 {
            let raw = mail(i);
            let z = c.compress(&raw).unwrap();
            refs.push((w.append(&z.frame).unwrap(), raw, z.frame));
        }
        w.sync().unwrap();
        let dict = trainer.current().expect("trained after 40 samples");
        assert!(trainer.error().is_none());
        assert!(dict_path(dir.path(), dict.id()).is_file());
        let with_dict = |f: &[u8]| zstd_safe::get_dict_id_from_frame(f).is_some();
        assert!(!with_dict(&refs[0].2) && with_dict(&refs[59].2));
        let mut r = PackReader::new(dir.path());
        for (at, raw, _) in &refs {
            let hash = blake3::hash(raw);
            assert_eq!(&r.read(*at, raw.len(), hash.as_bytes()).unwrap(), raw);
        }
        // A new trainer takes the stored dictionary instead of training.
        let again = DictionaryTrainer::new(dir.path(), 1).unwrap();
        assert_eq!(again.current().map(Dictionary::id), Some(dict.id()));
    }

    #[test]
    fn too_little_to_train_on_gives_no_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            train_dictionary(dir.path(), b"abc", &[3])
                .unwrap()
                .is_none()
        );
        let trainer = DictionaryTrainer::new(dir.path(), 1).unwrap();
        trainer.offer(b"x");
        assert!(trainer.current().is_none() && trainer.error().is_none());
        assert!(load_dictionary(dir.path()).unwrap().is_none());
    }

    #[test]
    fn zeroed_frames_leave_the_others_readable() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackWriter::open(dir.path(), 1, 0).unwrap();
        let raws: [&[u8]; 3] = [b"first message", b"second message", b"third message"];
        let refs: Vec<(PackRef, Vec<u8>)> = raws
            .iter()
            .map(|raw| {
                let c = compress(raw).unwrap();
                (w.append(&c.frame).unwrap(), c.hash.to_vec())
            })
            .collect();
        w.sync().unwrap();
        let before = std::fs::metadata(pack_path(dir.path(), 1)).unwrap().len();
        let zeroed = zero_frames(dir.path(), &[refs[1].0]).unwrap();
        assert_eq!(zeroed, u64::from(refs[1].0.len));
        assert_eq!(
            std::fs::metadata(pack_path(dir.path(), 1)).unwrap().len(),
            before
        );
        let mut r = PackReader::new(dir.path());
        assert!(r.read_frame(refs[1].0).unwrap().iter().all(|&b| b == 0));
        for i in [0, 2] {
            let (at, hash) = &refs[i];
            assert_eq!(r.read(*at, raws[i].len(), hash).unwrap(), raws[i]);
        }
        // A frame past the pack's end is an error naming the pack, and
        // nothing is written.
        let past = PackRef {
            pack: 1,
            offset: before,
            len: 10,
        };
        let err = zero_frames(dir.path(), &[past]).unwrap_err();
        assert!(err.to_string().contains("pack-000001.zst"), "{err}");
        assert_eq!(
            std::fs::metadata(pack_path(dir.path(), 1)).unwrap().len(),
            before
        );
    }

    #[test]
    fn shorter_pack_than_recorded_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(pack_path(dir.path(), 1), b"abc").unwrap();
        let err = PackWriter::open(dir.path(), 1, 10).err().unwrap();
        assert!(err.to_string().contains("shorter"), "{err}");
    }
}
