//! Canonical bencode: strict decoding into a small tree, and the encoding helpers.
//!
//! Decoding goes through bendy's decoder, which accepts only canonical input:
//! sorted unique dict keys, no leading zeros, no `-0`, lengths that fit the
//! input. Its errors are mapped here onto [`BencodeError`], so callers see one
//! typed error per way input can be malformed.

use bendy::decoding::{Decoder, Object};

/// Deepest nesting accepted. Our formats need 4 levels; a little slack keeps
/// unknown top-level keys from other tools readable.
pub const MAX_DEPTH: usize = 16;

/// Why bytes are not canonical bencode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BencodeError {
    /// No bytes at all.
    #[error("the input is empty; expected a bencoded dictionary")]
    Empty,
    /// A token that bencode does not allow here, such as a leading zero.
    #[error("not canonical bencode: {0}")]
    Syntax(String),
    /// The input stops inside a value, or a string's length prefix runs past the end.
    #[error(
        "the bencode is truncated: a value or a string's length runs past the end of the input"
    )]
    Truncated,
    /// Dictionary keys are out of order or repeated.
    #[error(
        "dictionary keys are not in strictly ascending byte order (unsorted or repeated keys are not canonical)"
    )]
    UnsortedKeys,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("values are nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
    /// Bytes follow the end of the top-level value.
    #[error("{0} stray bytes follow the end of the bencoded value")]
    TrailingBytes(usize),
    /// An integer that does not fit in 64 bits.
    #[error("integer {0} does not fit in a signed 64-bit number")]
    IntegerOutOfRange(String),
}

impl From<bendy::decoding::Error> for BencodeError {
    fn from(error: bendy::decoding::Error) -> Self {
        // bendy exposes its error kind only through Display; the messages
        // of the pinned version are matched here, and tests lock them.
        let text = error.to_string();
        if text.contains("Keys were not sorted") {
            Self::UnsortedKeys
        } else if text.contains("Maximum nesting depth exceeded") {
            Self::TooDeep
        } else if text.contains("Reached EOF") {
            Self::Truncated
        } else {
            let text = text
                .strip_prefix("bencode encoding corrupted (")
                .unwrap_or(&text);
            Self::Syntax(text.trim_end_matches(')').to_owned())
        }
    }
}

/// A decoded value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    /// Pairs in the (ascending) order they appeared.
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

fn parse_int(text: &str) -> Result<i64, BencodeError> {
    text.parse()
        .map_err(|_| BencodeError::IntegerOutOfRange(text.chars().take(40).collect()))
}

fn convert<'a>(object: Object<'_, 'a>) -> Result<Value<'a>, BencodeError> {
    Ok(match object {
        Object::Integer(text) => Value::Int(parse_int(text)?),
        Object::Bytes(bytes) => Value::Bytes(bytes),
        Object::List(mut list) => {
            let mut items = Vec::new();
            while let Some(item) = list.next_object()? {
                items.push(convert(item)?);
            }
            Value::List(items)
        }
        Object::Dict(mut dict) => {
            let mut pairs = Vec::new();
            while let Some((key, value)) = dict.next_pair()? {
                pairs.push((key, convert(value)?));
            }
            Value::Dict(pairs)
        }
    })
}

/// Checks that nothing follows the value that ended at `decoder`'s position.
fn expect_end(decoder: &mut Decoder<'_>, total: usize) -> Result<(), BencodeError> {
    match decoder.next_object() {
        Ok(None) => Ok(()),
        // bendy does not tell the offset; the count below is exact for
        // the common case of a complete second value and a lower bound otherwise.
        Ok(Some(_)) | Err(_) => Err(BencodeError::TrailingBytes(total.max(1))),
    }
}

/// Decodes exactly one canonical value that spans all of `bytes`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value<'_>, BencodeError> {
    if bytes.is_empty() {
        return Err(BencodeError::Empty);
    }
    let mut decoder = Decoder::new(bytes).with_max_depth(MAX_DEPTH);
    let value = match decoder.next_object()? {
        Some(object) => convert(object)?,
        None => return Err(BencodeError::Syntax("unexpected end marker `e`".into())),
    };
    let used = encoded_len(&value);
    expect_end(&mut decoder, bytes.len().saturating_sub(used))?;
    Ok(value)
}

/// A top-level dictionary with one value kept as its raw bytes.
pub(crate) struct DictWithRaw<'a> {
    /// Every pair, with the raw-kept value decoded as well.
    pub(crate) pairs: Vec<(&'a [u8], Value<'a>)>,
    /// The exact input bytes of the value under the raw key, if present.
    pub(crate) raw: Option<&'a [u8]>,
}

/// Decodes a top-level dictionary, keeping the exact bytes of the dictionary
/// stored under `raw_key` (the info dict, whose SHA-1 is the infohash).
pub(crate) fn decode_dict_keeping_raw<'a>(
    bytes: &'a [u8],
    raw_key: &[u8],
) -> Result<Option<DictWithRaw<'a>>, BencodeError> {
    if bytes.is_empty() {
        return Err(BencodeError::Empty);
    }
    let mut decoder = Decoder::new(bytes).with_max_depth(MAX_DEPTH);
    let mut pairs = Vec::new();
    let mut raw = None;
    {
        let Some(object) = decoder.next_object()? else {
            return Err(BencodeError::Syntax("unexpected end marker `e`".into()));
        };
        let Object::Dict(mut dict) = object else {
            return Ok(None);
        };
        while let Some((key, value)) = dict.next_pair()? {
            if key == raw_key {
                if let Object::Dict(inner) = value {
                    let raw_bytes = inner.into_raw()?;
                    raw = Some(raw_bytes);
                    pairs.push((key, decode(raw_bytes)?));
                    continue;
                }
                pairs.push((key, convert(value)?));
            } else {
                pairs.push((key, convert(value)?));
            }
        }
    }
    let used = encoded_len(&Value::Dict(pairs.clone()));
    expect_end(&mut decoder, bytes.len().saturating_sub(used))?;
    Ok(Some(DictWithRaw { pairs, raw }))
}

/// Length of the canonical encoding of `value`.
fn encoded_len(value: &Value<'_>) -> usize {
    fn bytes_len(b: &[u8]) -> usize {
        b.len().to_string().len() + 1 + b.len()
    }
    match value {
        Value::Int(i) => i.to_string().len() + 2,
        Value::Bytes(b) => bytes_len(b),
        Value::List(items) => 2 + items.iter().map(encoded_len).sum::<usize>(),
        Value::Dict(pairs) => {
            2 + pairs
                .iter()
                .map(|(k, v)| bytes_len(k) + encoded_len(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_canonical_values() {
        assert_eq!(decode(b"i-42e"), Ok(Value::Int(-42)));
        assert_eq!(decode(b"0:"), Ok(Value::Bytes(b"")));
        assert_eq!(
            decode(b"d1:ai1e1:bl3:xyzee"),
            Ok(Value::Dict(vec![
                (b"a".as_slice(), Value::Int(1)),
                (b"b".as_slice(), Value::List(vec![Value::Bytes(b"xyz")])),
            ]))
        );
    }

    /// Locks the mapping from bendy's messages onto our variants.
    #[test]
    fn each_malformation_has_its_own_error() {
        type Case = (&'static [u8], fn(&BencodeError) -> bool);
        let cases: &[Case] = &[
            (b"", |e| *e == BencodeError::Empty),
            (b"x", |e| matches!(e, BencodeError::Syntax(_))),
            (
                b"i01e",
                |e| matches!(e, BencodeError::Syntax(m) if m.contains("offset 2")),
            ),
            (b"i-0e", |e| matches!(e, BencodeError::Syntax(_))),
            (b"03:abc", |e| matches!(e, BencodeError::Syntax(_))),
            (b"d1:bi1e1:ai2ee", |e| *e == BencodeError::UnsortedKeys),
            (b"d1:ai1e1:ai2ee", |e| *e == BencodeError::UnsortedKeys),
            (b"d1:ai1e", |e| *e == BencodeError::Truncated),
            (b"999999999:abc", |e| *e == BencodeError::Truncated),
            (b"i99999999999999999999e", |e| {
                matches!(e, BencodeError::IntegerOutOfRange(_))
            }),
            (b"99999999999999999999999:x", |e| {
                matches!(e, BencodeError::Syntax(_))
            }),
            (b"i1ei2e", |e| *e == BencodeError::TrailingBytes(3)),
            (b"i1ee", |e| matches!(e, BencodeError::TrailingBytes(_))),
        ];
        for (input, expected) in cases {
            let error = decode(input).expect_err(&String::from_utf8_lossy(input));
            assert!(
                expected(&error),
                "{:?} gave {error:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn nesting_bomb_is_refused_without_recursion_blowup() {
        let mut bomb = vec![b'l'; 100_000];
        bomb.extend(vec![b'e'; 100_000]);
        assert_eq!(decode(&bomb), Err(BencodeError::TooDeep));
        let ok = [b"l".repeat(MAX_DEPTH), b"e".repeat(MAX_DEPTH)].concat();
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn raw_value_is_exact_input() {
        let input = b"d4:infod1:xi1ee3:zzzi0ee";
        let dict = decode_dict_keeping_raw(input, b"info").unwrap().unwrap();
        assert_eq!(dict.raw, Some(b"d1:xi1ee".as_slice()));
        assert_eq!(dict.pairs.len(), 2);
        assert!(decode_dict_keeping_raw(b"i1e", b"info").unwrap().is_none());
        assert!(matches!(
            decode_dict_keeping_raw(b"d4:infod1:xi1eee1:", b"info"),
            Err(BencodeError::TrailingBytes(_))
        ));
    }
}
