//! The original bytes of every message, compressed and appended to pack files.
//!
//! Each message is one zstd frame appended to `originals/pack-NNNNNN.zst`; the
//! store records (pack, offset, length) and a BLAKE3 hash of the original
//! bytes. Packs are append-only: a crash can only leave bytes past the length
//! the store committed, and [`PackWriter::open`] cuts them off, so a rerun
//! appends where the last committed import ended. Packs roll over at
//! [`PACK_LIMIT`] bytes.

use crate::archive::private_file_options;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A pack is closed and a new one started past this size.
pub const PACK_LIMIT: u64 = 1 << 30;

/// zstd level for originals: level 1 is fast and still halves typical mail.
pub const ZSTD_LEVEL: i32 = 1;

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

/// Compresses and hashes originals, reusing one zstd context (one per thread).
pub struct Compressor {
    zstd: zstd::bulk::Compressor<'static>,
}

impl Compressor {
    pub fn new() -> Result<Compressor> {
        let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).context("cannot set up zstd")?;
        Ok(Compressor { zstd })
    }

    /// Compresses and hashes an original message.
    pub fn compress(&mut self, raw: &[u8]) -> Result<Compressed> {
        let frame = self.zstd.compress(raw).context("zstd compression failed")?;
        Ok(Compressed {
            frame,
            raw_len: raw.len(),
            hash: *blake3::hash(raw).as_bytes(),
        })
    }
}

/// Compresses and hashes one original (see [`Compressor`] for many).
pub fn compress(raw: &[u8]) -> Result<Compressed> {
    Compressor::new()?.compress(raw)
}

pub fn pack_path(dir: &Path, pack: u32) -> PathBuf {
    dir.join(format!("pack-{pack:06}.zst"))
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

/// Reads originals back.
pub struct PackReader {
    dir: PathBuf,
    open: Vec<(u32, File)>,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
}

impl PackReader {
    pub fn new(dir: &Path) -> PackReader {
        PackReader {
            dir: dir.to_path_buf(),
            open: Vec::new(),
            zstd: None,
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

    /// The original bytes at `r` (`raw_len` is the recorded size).
    pub fn read(&mut self, r: PackRef, raw_len: usize) -> Result<Vec<u8>> {
        let frame = self.read_frame(r)?;
        if self.zstd.is_none() {
            self.zstd = Some(zstd::bulk::Decompressor::new().context("cannot set up zstd")?);
        }
        let dctx = self.zstd.as_mut().context("zstd context")?;
        let raw = dctx.decompress(&frame, raw_len.max(1)).with_context(|| {
            format!(
                "original at offset {} of {} is corrupt",
                r.offset,
                pack_path(&self.dir, r.pack).display()
            )
        })?;
        if raw.len() != raw_len {
            bail!(
                "original at offset {} of {} has {} bytes, expected {}",
                r.offset,
                pack_path(&self.dir, r.pack).display(),
                raw.len(),
                raw_len
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
            r.read(ra, a.raw_len).unwrap(),
            b"From: a@example.com\n\nhello\n"
        );
        assert_eq!(
            r.read(rb2, b.raw_len).unwrap(),
            "Subject: 請求書\n\n本文\n".as_bytes()
        );
        assert_eq!(
            b.hash,
            *blake3::hash("Subject: 請求書\n\n本文\n".as_bytes()).as_bytes()
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
