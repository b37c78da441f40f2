//! Line and column ↔ byte offset in a text: constant time in ASCII text, and bounded by a
//! fixed stride of characters otherwise, so that mapping every node of a file whose content
//! sits on one long line (minified JSON) stays linear in the file.

use crate::source::yaml::Pos;

/// Every `STRIDE`-th character's byte offset is kept for non-ASCII text.
const STRIDE: usize = 64;

/// Where the lines of one text start, in bytes and in characters.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct LineIndex {
    /// The byte offset at which each line starts.
    pub starts: Vec<usize>,
    /// The character index at which each line starts.
    chars_at: Vec<usize>,
    /// The byte offset of every [`STRIDE`]-th character; empty when the text is ASCII.
    marks: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut index = LineIndex { starts: vec![0], chars_at: vec![0], marks: Vec::new() };
        if text.is_ascii() {
            for (i, b) in text.bytes().enumerate() {
                if b == b'\n' {
                    index.starts.push(i + 1);
                    index.chars_at.push(i + 1);
                }
            }
            return index;
        }
        for (ci, (bi, c)) in text.char_indices().enumerate() {
            if ci % STRIDE == 0 {
                index.marks.push(bi);
            }
            if c == '\n' {
                index.starts.push(bi + 1);
                index.chars_at.push(ci + 1);
            }
        }
        index
    }

    /// The index of the character at `byte`.
    fn char_index(&self, text: &str, byte: usize) -> usize {
        if self.marks.is_empty() {
            return byte;
        }
        let k = self.marks.partition_point(|&m| m <= byte).saturating_sub(1);
        k * STRIDE + text.get(self.marks[k]..byte).map_or(0, |s| s.chars().count())
    }

    /// The byte offset of character `ci` (the end of the text when past it).
    fn byte_of_char(&self, text: &str, ci: usize) -> usize {
        if self.marks.is_empty() {
            return ci.min(text.len());
        }
        let Some(&mark) = self.marks.get(ci / STRIDE) else { return text.len() };
        text[mark..].char_indices().nth(ci % STRIDE).map_or(text.len(), |(i, _)| mark + i)
    }

    /// The byte offset of `pos` in `text` (the text this index was made from); a column past
    /// the end of its line counts on into the next lines, a line past the end gives the
    /// text's length.
    pub fn byte_of(&self, text: &str, pos: Pos) -> usize {
        match self.chars_at.get(pos.line.saturating_sub(1)) {
            Some(&first) => self.byte_of_char(text, first + pos.column.saturating_sub(1)),
            None => text.len(),
        }
    }

    /// The position of `byte` in `text` (the text this index was made from).
    pub fn pos_of(&self, text: &str, byte: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= byte).max(1);
        let column = self.char_index(text, byte).saturating_sub(self.chars_at[line - 1]) + 1;
        Pos { line, column }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_bytes_agree_in_ascii_and_other_text() {
        let ascii = "ab\ncd\n\nef";
        let other = format!("é{}\nxü{}z\n", "ñ".repeat(200), "字".repeat(130));
        for text in [ascii, other.as_str()] {
            let index = LineIndex::new(text);
            for (byte, _) in text.char_indices() {
                let pos = index.pos_of(text, byte);
                let line_start = text[..byte].rfind('\n').map_or(0, |i| i + 1);
                let want = Pos {
                    line: text[..byte].matches('\n').count() + 1,
                    column: text[line_start..byte].chars().count() + 1,
                };
                assert_eq!(pos, want, "{byte}");
                assert_eq!(index.byte_of(text, pos), byte);
            }
            assert_eq!(index.byte_of(text, Pos { line: 99, column: 1 }), text.len());
        }
    }
}
