//! Rendering shared by commands: terminal-safe text, JSON message objects,
//! tables, colour decisions.

/// Removes control characters and terminal escape sequences from text that
/// came from mail, so that a Subject cannot drive the terminal. Tabs and
/// newlines become spaces when `single_line`, else newlines are kept.
pub fn sanitize_text(s: &str, single_line: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // ESC [ ... final byte (CSI), ESC ] ... BEL/ST (OSC), or ESC + one char.
                match chars.peek() {
                    Some('[') => {
                        chars.next();
                        while let Some(&n) = chars.peek() {
                            chars.next();
                            if ('@'..='~').contains(&n) {
                                break;
                            }
                        }
                    }
                    Some(']') => {
                        chars.next();
                        while let Some(n) = chars.next() {
                            if n == '\u{7}' {
                                break;
                            }
                            if n == '\u{1b}' {
                                chars.next();
                                break;
                            }
                        }
                    }
                    Some(_) => {
                        chars.next();
                    }
                    None => {}
                }
            }
            '\n' if !single_line => out.push('\n'),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            // Bidi overrides can disguise text on a terminal.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// [`sanitize_text`] on one line.
pub fn sanitize(s: &str) -> String {
    sanitize_text(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_never_reach_the_terminal() {
        assert_eq!(sanitize("\u{1b}[31m請求書\u{1b}[0m の件"), "請求書 の件");
        assert_eq!(sanitize("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(sanitize("x\u{7}\u{8}y\r\nz"), "xy  z");
        assert_eq!(sanitize_text("line1\nline2\u{1b}[2J", false), "line1\nline2");
    }
}
