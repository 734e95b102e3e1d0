//! Throughput of the index tokenizer on generated mail-like text.
//!
//! Run with `cargo run --release --example tokenize_speed`. Prints MB/s and
//! tokens/s for English, Japanese and mixed text of a few MB each.

use std::time::Instant;

use kura::tokenizer::KuraTokenizer;
use tantivy::tokenizer::{TokenStream, Tokenizer};

const ENGLISH: &[&str] = &[
    "Dear",
    "customer,",
    "please",
    "find",
    "the",
    "attached",
    "invoice",
    "for",
    "March.",
    "Regards,",
    "Sales",
    "Team",
    "order",
    "number",
    "12345",
    "shipping",
    "address",
    "tanaka@example.co.jp",
    "Thank",
    "you",
    "for",
    "your",
    "business.",
    "Re:",
    "Fwd:",
];

const JAPANESE: &[&str] = &[
    "いつもお世話になっております。",
    "株式会社サンプル",
    "の田中です。",
    "今月の請求書を送付いたします。",
    "ご確認のほど、よろしくお願いいたします。",
    "お見積もりの件",
    "につきまして、",
    "ｾｲｷｭｳｼｮ",
    "（ﾊﾝｶｸ）",
    "２０２４年３月分",
    "　",
    "「納品書」",
    "を添付しました。",
    "ご不明な点がございましたら",
    "お気軽にお問い合わせください。",
    "担当：営業部",
    "ＴＥＬ：03-1234-5678",
    "\n",
];

/// Deterministic text of about `target` bytes drawn from the word lists.
fn generate(target: usize, english_share: u32) -> String {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::with_capacity(target + 64);
    while text.len() < target {
        let r = next();
        if (r % 100) < u64::from(english_share) {
            let w = ENGLISH
                .get((r >> 8) as usize % ENGLISH.len())
                .copied()
                .unwrap_or("x");
            text.push_str(w);
            text.push(' ');
        } else {
            let w = JAPANESE
                .get((r >> 8) as usize % JAPANESE.len())
                .copied()
                .unwrap_or("あ");
            text.push_str(w);
        }
    }
    text
}

fn measure(name: &str, text: &str) {
    let mut tokenizer = KuraTokenizer::default();
    // Tokenize in mail-sized pieces, as the importer does.
    let docs: Vec<&str> = text.split_inclusive('\n').collect();
    let mut best = f64::MAX;
    let mut tokens = 0u64;
    for _ in 0..5 {
        tokens = 0;
        let start = Instant::now();
        for doc in &docs {
            let mut stream = tokenizer.token_stream(doc);
            while stream.advance() {
                tokens += 1;
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let mb = text.len() as f64 / 1e6;
    println!(
        "{name:<9} {mb:6.1} MB  {:8.1} MB/s  {:6.1} M tokens/s  ({tokens} tokens)",
        mb / best,
        tokens as f64 / best / 1e6,
    );
}

fn main() {
    measure("english", &generate(4_000_000, 100));
    measure("japanese", &generate(4_000_000, 0));
    measure("mixed", &generate(4_000_000, 50));
}
