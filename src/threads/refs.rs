//! Message-ID lists in References / In-Reply-To headers.

pub fn message_ids(_raw: &str) -> Vec<String> {
    todo!()
}

pub fn normalize_id(_raw: &str) -> Option<String> {
    todo!()
}
