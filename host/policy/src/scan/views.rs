//! Decoded views of a byte string: one decoder per form in which servers and
//! frameworks echo a value back. Each decoded byte remembers the range of
//! original bytes it came from, so a match in any view redacts the right
//! original bytes.
//!
//! A decoder returns `None` when it found nothing to decode, so the common
//! case (plain text) costs one pass per decoder and no allocation.

/// A decoded copy of the original text.
pub(crate) struct View {
    pub bytes: Vec<u8>,
    /// `spans[i]` is the original byte range decoded byte `i` came from.
    /// `None` means the identity (the original itself).
    pub spans: Option<Vec<(usize, usize)>>,
}

impl View {
    pub fn root(bytes: Vec<u8>) -> Self {
        View { bytes, spans: None }
    }

    /// Original range of view bytes `from..to` (non-empty).
    pub fn original(&self, from: usize, to: usize) -> (usize, usize) {
        match &self.spans {
            None => (from, to),
            Some(s) => (s[from].0, s[to - 1].1),
        }
    }

    /// Mostly printable ASCII text: worth decoding again. Binary garbage
    /// (base64 of random bytes, say) is scanned but not expanded further.
    pub fn is_textual(&self) -> bool {
        if self.bytes.is_empty() {
            return false;
        }
        let printable = self
            .bytes
            .iter()
            .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
            .count();
        printable * 100 >= self.bytes.len() * 85
    }
}

/// Byte that separates independently decoded segments. Secrets never
/// contain control characters (the vault refuses them), so no match can
/// span a separator.
const SEPARATOR: u8 = 0;

struct Builder<'a> {
    src: &'a View,
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    changed: bool,
}

impl<'a> Builder<'a> {
    fn new(src: &'a View) -> Self {
        Builder {
            src,
            bytes: Vec::with_capacity(src.bytes.len()),
            spans: Vec::with_capacity(src.bytes.len()),
            changed: false,
        }
    }

    fn copy(&mut self, i: usize) {
        self.bytes.push(self.src.bytes[i]);
        self.spans.push(self.src.original(i, i + 1));
    }

    /// A decoded byte standing for source bytes `from..to`.
    fn emit(&mut self, byte: u8, from: usize, to: usize) {
        self.bytes.push(byte);
        self.spans.push(self.src.original(from, to));
        self.changed = true;
    }

    fn emit_char(&mut self, c: char, from: usize, to: usize) {
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            self.emit(b, from, to);
        }
    }

    fn separator(&mut self) {
        if self.bytes.last() != Some(&SEPARATOR) {
            let at = self.src.original(0, 1).0;
            self.bytes.push(SEPARATOR);
            self.spans.push((at, at));
        }
    }

    fn finish(self) -> Option<View> {
        self.changed.then_some(View {
            bytes: self.bytes,
            spans: Some(self.spans),
        })
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_pair(b: &[u8], i: usize) -> Option<u8> {
    Some(hex_val(*b.get(i)?)? << 4 | hex_val(*b.get(i + 1)?)?)
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..4 {
        v = v << 4 | u32::from(hex_val(*b.get(i + k)?)?);
    }
    Some(v)
}

/// JSON string escapes, `\uXXXX` (with surrogate pairs) included.
pub(crate) fn json(src: &View) -> Option<View> {
    let b = &src.bytes;
    if !b.contains(&b'\\') {
        return None;
    }
    let mut out = Builder::new(src);
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.copy(i);
            i += 1;
            continue;
        }
        let simple = match b[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.emit(c, i, i + 2);
            i += 2;
            continue;
        }
        if b[i + 1] == b'u'
            && let Some(unit) = hex4(b, i + 2)
        {
            let (c, len) = if (0xd800..0xdc00).contains(&unit)
                && b.get(i + 6) == Some(&b'\\')
                && b.get(i + 7) == Some(&b'u')
                && let Some(low) = hex4(b, i + 8)
                && (0xdc00..0xe000).contains(&low)
            {
                let cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                (char::from_u32(cp), 12)
            } else {
                (char::from_u32(unit), 6)
            };
            out.emit_char(c.unwrap_or(char::REPLACEMENT_CHARACTER), i, i + len);
            i += len;
            continue;
        }
        out.copy(i);
        i += 1;
    }
    out.finish()
}

/// Named entities for the characters a token can hold, as HTML5 names them.
const ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("sol", '/'),
    ("bsol", '\\'),
    ("colon", ':'),
    ("semi", ';'),
    ("equals", '='),
    ("plus", '+'),
    ("minus", '-'),
    ("hyphen", '-'),
    ("dash", '-'),
    ("lowbar", '_'),
    ("period", '.'),
    ("comma", ','),
    ("num", '#'),
    ("excl", '!'),
    ("quest", '?'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("lpar", '('),
    ("rpar", ')'),
    ("ast", '*'),
    ("commat", '@'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lbrack", '['),
    ("rbrack", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("lbrace", '{'),
    ("rbrace", '}'),
    ("verbar", '|'),
    ("vert", '|'),
    ("grave", '`'),
    ("hat", '^'),
    ("tilde", '~'),
    ("space", ' '),
];

/// HTML and XML character references: named, decimal and hex (the final
/// `;` is optional for numeric ones, as browsers accept).
pub(crate) fn html(src: &View) -> Option<View> {
    let b = &src.bytes;
    if !b.contains(&b'&') {
        return None;
    }
    let mut out = Builder::new(src);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'&'
            && let Some((c, len)) = entity(&b[i + 1..])
        {
            out.emit_char(c, i, i + 1 + len);
            i += 1 + len;
        } else {
            out.copy(i);
            i += 1;
        }
    }
    out.finish()
}

/// The character and length of the reference after `&`.
fn entity(b: &[u8]) -> Option<(char, usize)> {
    if b.first() == Some(&b'#') {
        let (hex, start) = match b.get(1) {
            Some(b'x' | b'X') => (true, 2),
            _ => (false, 1),
        };
        let mut end = start;
        let mut cp: u32 = 0;
        while end < b.len() && end - start < 8 {
            let d = if hex {
                hex_val(b[end]).map(u32::from)
            } else {
                b[end].is_ascii_digit().then(|| u32::from(b[end] - b'0'))
            };
            let Some(d) = d else { break };
            cp = cp * if hex { 16 } else { 10 } + d;
            end += 1;
        }
        if end == start {
            return None;
        }
        let len = if b.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        };
        return Some((
            char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER),
            len,
        ));
    }
    let name_len = b
        .iter()
        .take(8)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if b.get(name_len) != Some(&b';') {
        return None;
    }
    let name = std::str::from_utf8(&b[..name_len]).ok()?;
    ENTITIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, c)| (c, name_len + 1))
}

/// Percent-encoding in either case, `+` for space. Applied twice by the
/// scanner's layering, which covers doubled encoding (`%2541`).
pub(crate) fn percent(src: &View) -> Option<View> {
    let b = &src.bytes;
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return None;
    }
    let mut out = Builder::new(src);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = hex_pair(b, i + 1)
        {
            out.emit(v, i, i + 3);
            i += 3;
        } else if b[i] == b'+' {
            out.emit(b' ', i, i + 1);
            i += 1;
        } else {
            out.copy(i);
            i += 1;
        }
    }
    out.finish()
}

/// MIME quoted-printable: `=XX` and soft line breaks (`=` at a line end).
pub(crate) fn quoted_printable(src: &View) -> Option<View> {
    let b = &src.bytes;
    if !b.contains(&b'=') {
        return None;
    }
    let mut out = Builder::new(src);
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'=' {
            out.copy(i);
            i += 1;
            continue;
        }
        // Trailing whitespace before a soft break is not part of the text.
        let mut j = i + 1;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let soft = match (b.get(j), b.get(j + 1)) {
            (Some(b'\r'), Some(b'\n')) => Some(j + 2),
            (Some(b'\n'), _) => Some(j + 1),
            _ => None,
        };
        if let Some(next) = soft {
            out.changed = true;
            i = next;
        } else if let Some(v) = hex_pair(b, i + 1) {
            out.emit(v, i, i + 3);
            i += 3;
        } else {
            out.copy(i);
            i += 1;
        }
    }
    out.finish()
}

fn b64_val(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Shortest run of base64 or hex digits worth decoding.
const MIN_RUN: usize = 8;

/// Base64, standard and URL-safe (even mixed), with any whitespace inside
/// (MIME and PEM line wrapping), decoded at all four alignments so that a
/// value at any offset of a longer encoded text is found.
pub(crate) fn base64(src: &View) -> Option<View> {
    let b = &src.bytes;
    let mut out = Builder::new(src);
    let mut run: Vec<usize> = Vec::new();
    let mut i = 0;
    loop {
        let c = b.get(i).copied();
        match c {
            Some(c) if b64_val(c).is_some() => run.push(i),
            Some(b' ' | b'\t' | b'\r' | b'\n') if !run.is_empty() => {}
            _ => {
                if run.len() >= MIN_RUN {
                    decode_b64_run(b, &run, &mut out);
                }
                run.clear();
                if c.is_none() {
                    break;
                }
            }
        }
        i += 1;
    }
    out.finish()
}

fn decode_b64_run(b: &[u8], run: &[usize], out: &mut Builder<'_>) {
    for skip in 0..4 {
        for quad in run[skip.min(run.len())..].chunks(4) {
            if quad.len() < 2 {
                break;
            }
            let v: Vec<u8> = quad.iter().map(|&p| b64_val(b[p]).unwrap_or(0)).collect();
            let (from, to) = (quad[0], quad[quad.len() - 1] + 1);
            out.emit(v[0] << 2 | v[1] >> 4, from, to);
            if quad.len() > 2 {
                out.emit(v[1] << 4 | v[2] >> 2, from, to);
            }
            if quad.len() > 3 {
                out.emit(v[2] << 6 | v[3], from, to);
            }
        }
        out.separator();
    }
}

/// Hex, either case, with or without separators between bytes (`:`, `-`,
/// space, `,`, `.`, `\x`, `0x`), at both nibble alignments.
pub(crate) fn hex(src: &View) -> Option<View> {
    let b = &src.bytes;
    let mut out = Builder::new(src);
    let mut digits: Vec<usize> = Vec::new();
    let mut i = 0;
    loop {
        let flush = |digits: &mut Vec<usize>, out: &mut Builder<'_>| {
            if digits.len() >= 2 * MIN_RUN {
                for align in 0..2 {
                    for pair in digits[align..].chunks_exact(2) {
                        let v = hex_val(b[pair[0]]).unwrap_or(0) << 4
                            | hex_val(b[pair[1]]).unwrap_or(0);
                        out.emit(v, pair[0], pair[1] + 1);
                    }
                    out.separator();
                }
            }
            digits.clear();
        };
        let Some(&c) = b.get(i) else {
            flush(&mut digits, &mut out);
            break;
        };
        let next = b.get(i + 1).copied();
        let escape = c == b'\\' && matches!(next, Some(b'x' | b'X'));
        let prefix = c == b'0'
            && matches!(next, Some(b'x' | b'X'))
            && digits.len().is_multiple_of(2)
            && b.get(i + 2).and_then(|&d| hex_val(d)).is_some();
        if escape || prefix {
            i += 2;
        } else if hex_val(c).is_some() {
            digits.push(i);
            i += 1;
        } else if !digits.is_empty() && matches!(c, b':' | b'-' | b' ' | b',' | b'.') {
            i += 1;
        } else {
            flush(&mut digits, &mut out);
            i += 1;
        }
    }
    out.finish()
}

/// UTF-16 in both byte orders at both byte alignments (a BOM is simply
/// decoded as U+FEFF).
pub(crate) fn utf16(src: &View) -> Option<View> {
    let b = &src.bytes;
    if b.len() < 4 {
        return None;
    }
    let mut out = Builder::new(src);
    for big_endian in [false, true] {
        for offset in 0..2 {
            let unit = |i: usize| -> Option<u32> {
                let (x, y) = (*b.get(i)?, *b.get(i + 1)?);
                Some(if big_endian {
                    u32::from(x) << 8 | u32::from(y)
                } else {
                    u32::from(y) << 8 | u32::from(x)
                })
            };
            let mut i = offset;
            while let Some(u) = unit(i) {
                if (0xd800..0xdc00).contains(&u)
                    && let Some(low) = unit(i + 2)
                    && (0xdc00..0xe000).contains(&low)
                {
                    let cp = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
                    if let Some(c) = char::from_u32(cp) {
                        out.emit_char(c, i, i + 4);
                    }
                    i += 4;
                    continue;
                }
                match char::from_u32(u) {
                    Some(c) if u != 0 => out.emit_char(c, i, i + 2),
                    _ => out.separator(),
                }
                i += 2;
            }
            out.separator();
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(f: fn(&View) -> Option<View>, s: &[u8]) -> Vec<u8> {
        f(&View::root(s.to_vec()))
            .map(|v| v.bytes)
            .unwrap_or_default()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn each_decoder_recovers_its_form() {
        assert_eq!(decode(json, br#"a\"b\\c\u0041\/"#), b"a\"b\\cA/");
        assert_eq!(decode(json, br#"\ud83d\ude00"#), "😀".as_bytes());
        assert_eq!(
            decode(html, b"&quot;&#65;&#x42;&amp;&lowbar;&#67"),
            b"\"AB&_C"
        );
        assert_eq!(decode(percent, b"a%2Fb%2fc+d"), b"a/b/c d");
        assert_eq!(decode(quoted_printable, b"ab=\r\ncd=3D=\nef"), b"abcd=ef");
        assert!(contains(
            &decode(base64, b"c2stdGVz\ndC05Zjhl"),
            b"sk-test-9f8e"
        ));
        assert!(contains(
            &decode(base64, b"xc2stdGVzdC05Zjhl"),
            b"sk-test-9f8e"
        ));
        assert!(contains(
            &decode(hex, b"73:6b:2d:74:65:73:74:2d:39"),
            b"sk-test-9"
        ));
        assert!(contains(
            &decode(hex, b"\\x73\\x6b\\x2d\\x74\\x65\\x73\\x74\\x2d"),
            b"sk-test-"
        ));
        assert!(contains(
            &decode(hex, b"0x73 0x6b 0x2d 0x74 0x65 0x73 0x74 0x2d"),
            b"sk-test-"
        ));
        assert!(contains(&decode(hex, b"a736b2d746573742d39"), b"sk-test-9"));
        let le: Vec<u8> = "sk-test"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "sk-test"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert!(contains(&decode(utf16, &le), b"sk-test"));
        assert!(contains(
            &decode(utf16, &[&[0u8][..], &be].concat()),
            b"sk-test"
        ));
    }

    #[test]
    fn spans_point_back_at_the_original() {
        let v = json(&View::root(br#"xx\u0041yy"#.to_vec())).unwrap();
        let at = v.bytes.iter().position(|&b| b == b'A').unwrap();
        assert_eq!(v.original(at, at + 1), (2, 8));
        // Layered: the span of a twice-decoded byte is in original bytes.
        let once = percent(&View::root(b"%2541".to_vec())).unwrap();
        let twice = percent(&once).unwrap();
        assert_eq!(twice.bytes, b"A");
        assert_eq!(twice.original(0, 1), (0, 5));
    }

    #[test]
    fn plain_text_needs_no_view() {
        for f in [json, html, percent, quoted_printable] {
            assert!(f(&View::root(b"just words".to_vec())).is_none());
        }
    }
}
