//! Canonical bencode: a strict zero-copy reader and an infallible writer.
//!
//! The reader accepts only the one canonical encoding of a value: dict keys
//! in strictly ascending byte order, integers and length prefixes without
//! leading zeros, no `-0`, nothing after the value, bounded nesting. Each
//! way input can break those rules has its own [`BencodeError`], with the
//! byte offset where it was found. bendy serves as the independent oracle:
//! the fuzz target checks that both readers accept exactly the same inputs.

/// Deepest nesting accepted. Records need 3 levels; the slack keeps unknown
/// top-level keys written by other tools readable.
pub const MAX_DEPTH: usize = 16;

/// Why bytes are not canonical bencode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BencodeError {
    /// No bytes at all.
    #[error("the input is empty; expected a bencoded dictionary")]
    Empty,
    /// A byte that cannot start or continue a value here.
    #[error("unexpected byte {found:?} at offset {offset}; expected {expected}")]
    Syntax {
        /// What the grammar allows here.
        expected: &'static str,
        /// The byte found, shown as a character.
        found: char,
        /// Where.
        offset: usize,
    },
    /// An integer or length prefix with a leading zero, or `-0`.
    #[error(
        "number with a leading zero or a minus zero at offset {0}; canonical bencode writes numbers in their shortest form"
    )]
    LeadingZero(usize),
    /// The input stops inside a value, or a string's length prefix runs past the end.
    #[error(
        "the bencode is truncated at offset {0}: a value or a string's length runs past the end of the input"
    )]
    Truncated(usize),
    /// Dictionary keys out of order.
    #[error(
        "dictionary key at offset {0} is not greater than the key before it; canonical bencode sorts keys"
    )]
    UnsortedKeys(usize),
    /// The same key twice in one dictionary.
    #[error("dictionary key at offset {0} repeats the key before it")]
    DuplicateKey(usize),
    /// A dictionary key that is not a byte string.
    #[error("dictionary key at offset {0} is not a byte string")]
    KeyNotString(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("values are nested more than {MAX_DEPTH} levels deep at offset {0}")]
    TooDeep(usize),
    /// Bytes follow the end of the top-level value.
    #[error("{0} stray bytes follow the end of the bencoded value")]
    TrailingBytes(usize),
    /// An integer or length that does not fit in 64 bits.
    #[error("number at offset {0} does not fit in 64 bits")]
    IntegerOutOfRange(usize),
}

/// A decoded value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    /// Pairs in (ascending) input order.
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl Value<'_> {
    /// A short name of the value's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Int(_) => "integer",
            Self::Bytes(_) => "byte string",
            Self::List(_) => "list",
            Self::Dict(_) => "dictionary",
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Canonical key order is required (records), or not (tracker answers,
    /// which list files in request order).
    strict: bool,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::Truncated(self.pos))
    }

    fn syntax(&self, expected: &'static str) -> BencodeError {
        BencodeError::Syntax {
            expected,
            found: self.buf.get(self.pos).map_or('?', |&b| b as char),
            offset: self.pos,
        }
    }

    /// Reads digits up to `end`, in canonical form, as a magnitude.
    fn digits(&mut self, end: u8) -> Result<u64, BencodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        loop {
            match self.peek()? {
                b if b == end && self.pos > start => break,
                b @ b'0'..=b'9' => {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(b - b'0')))
                        .ok_or(BencodeError::IntegerOutOfRange(start))?;
                    self.pos += 1;
                }
                _ => {
                    return Err(self.syntax(if self.pos == start {
                        "a digit"
                    } else {
                        "a digit or the end of the number"
                    }));
                }
            }
        }
        if self.buf[start] == b'0' && self.pos - start > 1 {
            return Err(BencodeError::LeadingZero(start));
        }
        self.pos += 1; // the terminator
        Ok(value)
    }

    fn int(&mut self) -> Result<i64, BencodeError> {
        let start = self.pos;
        self.pos += 1; // 'i'
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let magnitude = self.digits(b'e')?;
        if negative && magnitude == 0 {
            return Err(BencodeError::LeadingZero(start + 1));
        }
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or(BencodeError::IntegerOutOfRange(start))
    }

    fn bytes(&mut self) -> Result<&'a [u8], BencodeError> {
        let start = self.pos;
        let len = self.digits(b':')?;
        let len = usize::try_from(len).map_err(|_| BencodeError::IntegerOutOfRange(start))?;
        let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len());
        let end = end.ok_or(BencodeError::Truncated(start))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        match self.peek()? {
            b'i' => self.int().map(Value::Int),
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => {
                self.enter(depth)?;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.enter(depth)?;
                let mut pairs = Vec::new();
                while let Some((key, _)) = self.next_key(pairs.last().map(|(k, _)| *k))? {
                    pairs.push((key, self.value(depth + 1)?));
                }
                Ok(Value::Dict(pairs))
            }
            _ => Err(self.syntax("`i`, `l`, `d` or a digit")),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), BencodeError> {
        if depth >= MAX_DEPTH {
            return Err(BencodeError::TooDeep(self.pos));
        }
        self.pos += 1;
        Ok(())
    }

    /// Reads the next dict key after `previous`, or the dict's end (`None`).
    fn next_key(
        &mut self,
        previous: Option<&[u8]>,
    ) -> Result<Option<(&'a [u8], usize)>, BencodeError> {
        let at = self.pos;
        match self.peek()? {
            b'e' => {
                self.pos += 1;
                Ok(None)
            }
            b'0'..=b'9' => {
                let key = self.bytes()?;
                match previous.map(|p| p.cmp(key)) {
                    Some(std::cmp::Ordering::Equal) if self.strict => {
                        Err(BencodeError::DuplicateKey(at))
                    }
                    Some(std::cmp::Ordering::Greater) if self.strict => {
                        Err(BencodeError::UnsortedKeys(at))
                    }
                    _ => Ok(Some((key, at))),
                }
            }
            _ => Err(BencodeError::KeyNotString(at)),
        }
    }

    fn finish(&self) -> Result<(), BencodeError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            extra => Err(BencodeError::TrailingBytes(extra)),
        }
    }
}

/// Decodes exactly one canonical value that spans all of `bytes`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value<'_>, BencodeError> {
    if bytes.is_empty() {
        return Err(BencodeError::Empty);
    }
    let mut reader = Reader {
        buf: bytes,
        pos: 0,
        strict: true,
    };
    let value = reader.value(0)?;
    reader.finish()?;
    Ok(value)
}

/// Decodes one value without requiring sorted keys: for answers from
/// trackers, which are not records and are not hashed.
pub(crate) fn decode_lenient(bytes: &[u8]) -> Result<Value<'_>, BencodeError> {
    if bytes.is_empty() {
        return Err(BencodeError::Empty);
    }
    let mut reader = Reader {
        buf: bytes,
        pos: 0,
        strict: false,
    };
    let value = reader.value(0)?;
    reader.finish()?;
    Ok(value)
}

/// Checks that `bytes` are exactly one value in canonical bencode.
pub fn check_canonical(bytes: &[u8]) -> Result<(), BencodeError> {
    decode(bytes).map(drop)
}

/// The v1 infohash of any .torrent file: SHA-1 of its exact `info` bytes.
pub(crate) fn infohash_of_torrent(bytes: &[u8]) -> Result<crate::InfoHash, BencodeError> {
    let dict = decode_dict_keeping_raw(bytes, b"info")?;
    match dict.and_then(|d| d.raw) {
        Some(info) if info.first() == Some(&b'd') => Ok(crate::InfoHash::of_info(info)),
        _ => Err(BencodeError::Syntax {
            expected: "a dictionary with an `info` dictionary",
            found: '?',
            offset: 0,
        }),
    }
}

/// A top-level dictionary whose value under one key is kept as raw bytes.
pub(crate) struct DictWithRaw<'a> {
    /// Every other pair, decoded.
    pub(crate) pairs: Vec<(&'a [u8], Value<'a>)>,
    /// The exact input bytes of the value under the raw key, if present.
    pub(crate) raw: Option<&'a [u8]>,
}

/// Decodes a top-level dictionary, keeping the exact bytes of the value under
/// `raw_key` (the info dict, whose SHA-1 is the infohash) undecoded for the
/// caller, after checking that they are canonical. `Ok(None)`: not a dict.
pub(crate) fn decode_dict_keeping_raw<'a>(
    bytes: &'a [u8],
    raw_key: &[u8],
) -> Result<Option<DictWithRaw<'a>>, BencodeError> {
    if bytes.is_empty() {
        return Err(BencodeError::Empty);
    }
    let mut reader = Reader {
        buf: bytes,
        pos: 0,
        strict: true,
    };
    if reader.peek()? != b'd' {
        reader.value(0)?;
        reader.finish()?;
        return Ok(None);
    }
    reader.enter(0)?;
    let mut pairs = Vec::new();
    let mut raw = None;
    let mut previous = None;
    while let Some((key, _)) = reader.next_key(previous)? {
        previous = Some(key);
        let start = reader.pos;
        let value = reader.value(1)?;
        if key == raw_key {
            raw = Some(&bytes[start..reader.pos]);
        } else {
            pairs.push((key, value));
        }
    }
    reader.finish()?;
    Ok(Some(DictWithRaw { pairs, raw }))
}

/// Writes canonical bencode. Callers emit dict keys in ascending order;
/// debug builds check it.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            out: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn int(&mut self, value: i64) {
        self.out.push(b'i');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self.out.push(b'e');
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value.len()).as_bytes());
        self.out.push(b':');
        self.out.extend_from_slice(value);
    }

    /// Appends bytes that already are one canonical value.
    pub(crate) fn raw(&mut self, value: &[u8]) {
        self.out.extend_from_slice(value);
    }

    pub(crate) fn list(&mut self, fill: impl FnOnce(&mut Self)) {
        self.out.push(b'l');
        fill(self);
        self.out.push(b'e');
    }

    pub(crate) fn dict(&mut self, fill: impl FnOnce(&mut DictWriter<'_>)) {
        self.out.push(b'd');
        fill(&mut DictWriter {
            writer: self,
            last: None,
        });
        self.out.push(b'e');
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

/// Writes one dictionary's pairs.
pub(crate) struct DictWriter<'w> {
    writer: &'w mut Writer,
    last: Option<&'static [u8]>,
}

impl DictWriter<'_> {
    /// Writes `key` and returns the writer for its value.
    pub(crate) fn key(&mut self, key: &'static [u8]) -> &mut Writer {
        debug_assert!(
            self.last.is_none_or(|last| last < key),
            "bencode keys out of order at {:?}",
            String::from_utf8_lossy(key)
        );
        self.last = Some(key);
        self.writer.bytes(key);
        self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_canonical_values() {
        assert_eq!(decode(b"i-42e"), Ok(Value::Int(-42)));
        assert_eq!(decode(b"i0e"), Ok(Value::Int(0)));
        assert_eq!(decode(b"i-9223372036854775808e"), Ok(Value::Int(i64::MIN)));
        assert_eq!(decode(b"0:"), Ok(Value::Bytes(b"")));
        assert_eq!(
            decode(b"d1:ai1e1:bl3:xyzee"),
            Ok(Value::Dict(vec![
                (b"a".as_slice(), Value::Int(1)),
                (b"b".as_slice(), Value::List(vec![Value::Bytes(b"xyz")])),
            ]))
        );
    }

    #[test]
    fn each_malformation_has_its_own_error() {
        use BencodeError::*;
        let cases: &[(&[u8], BencodeError)] = &[
            (b"", Empty),
            (
                b"x",
                Syntax {
                    expected: "`i`, `l`, `d` or a digit",
                    found: 'x',
                    offset: 0,
                },
            ),
            (b"i01e", LeadingZero(1)),
            (b"i-0e", LeadingZero(1)),
            (b"03:abc", LeadingZero(0)),
            (
                b"ie",
                Syntax {
                    expected: "a digit",
                    found: 'e',
                    offset: 1,
                },
            ),
            (
                b"i1x",
                Syntax {
                    expected: "a digit or the end of the number",
                    found: 'x',
                    offset: 2,
                },
            ),
            (b"d1:bi1e1:ai2ee", UnsortedKeys(7)),
            (b"d1:ai1e1:ai2ee", DuplicateKey(7)),
            (b"di1ei2ee", KeyNotString(1)),
            (b"d1:ai1e", Truncated(7)),
            (b"999999999:abc", Truncated(0)),
            (b"i9223372036854775808e", IntegerOutOfRange(0)),
            (b"99999999999999999999999:x", IntegerOutOfRange(0)),
            (b"i1ei2e", TrailingBytes(3)),
            (b"i1ee", TrailingBytes(1)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                decode(input).as_ref(),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn nesting_bomb_is_refused_without_deep_recursion() {
        let mut bomb = vec![b'l'; 100_000];
        bomb.extend(vec![b'e'; 100_000]);
        assert_eq!(decode(&bomb), Err(BencodeError::TooDeep(MAX_DEPTH)));
        let ok = [b"l".repeat(MAX_DEPTH), b"e".repeat(MAX_DEPTH)].concat();
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn raw_value_is_exact_input() {
        let input = b"d4:infod1:xi1ee3:zzzi0ee";
        let dict = decode_dict_keeping_raw(input, b"info").unwrap().unwrap();
        assert_eq!(dict.raw, Some(b"d1:xi1ee".as_slice()));
        assert_eq!(dict.pairs, vec![(b"zzz".as_slice(), Value::Int(0))]);
        assert!(decode_dict_keeping_raw(b"i1e", b"info").unwrap().is_none());
        assert_eq!(
            decode_dict_keeping_raw(b"d4:infod1:xi1eee1:", b"info").err(),
            Some(BencodeError::TrailingBytes(2))
        );
        assert_eq!(
            decode_dict_keeping_raw(b"d4:infod1:xi01eee", b"info").err(),
            Some(BencodeError::LeadingZero(12))
        );
    }

    #[test]
    fn writer_round_trips() {
        let mut w = Writer::default();
        w.dict(|d| {
            d.key(b"a").int(-7);
            d.key(b"b").list(|l| {
                l.bytes(b"xy");
                l.int(0);
            });
            d.key(b"c").raw(b"de");
        });
        let bytes = w.into_bytes();
        assert_eq!(bytes, b"d1:ai-7e1:bl2:xyi0ee1:cdee");
        assert!(decode(&bytes).is_ok());
    }
}
