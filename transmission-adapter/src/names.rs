//! Transmission 4.1's JSON-RPC 2.0 spells every name in snake_case; older
//! releases mix kebab-case and camelCase. Requests are written in the old
//! spelling and translated; answers are read in snake_case after both
//! spellings are folded onto it.

use serde_json::{Map, Value};

/// `torrent-add` → `torrent_add`, `hashString` → `hash_string`.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        match c {
            '-' => out.push('_'),
            c if c.is_ascii_uppercase() => {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            }
            c => out.push(c),
        }
    }
    out
}

/// Renames every object key, recursively.
pub(crate) fn snake_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (snake(&k), snake_keys(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

/// Translates request arguments for JSON-RPC: keys, field names, and the
/// `recently-active` selector.
pub(crate) fn snake_arguments(arguments: Value) -> Value {
    let Value::Object(map) = arguments else {
        return arguments;
    };
    map.into_iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), value) {
                ("fields", Value::Array(fields)) => Value::Array(
                    fields
                        .into_iter()
                        .map(|f| f.as_str().map_or(f.clone(), |s| snake(s).into()))
                        .collect(),
                ),
                ("ids", Value::String(s)) => Value::String(snake(&s)),
                (_, other) => snake_keys(other),
            };
            (snake(&key), value)
        })
        .collect::<Map<_, _>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("torrent-add"), "torrent_add");
        assert_eq!(snake("hashString"), "hash_string");
        assert_eq!(snake("rpc-version-semver"), "rpc_version_semver");
        assert_eq!(snake("trackerStats"), "tracker_stats");
        assert_eq!(snake("labels"), "labels");
    }

    #[test]
    fn arguments() {
        let args = serde_json::json!({"download-dir": "/x", "fields": ["hashString", "percentDone"], "ids": "recently-active"});
        assert_eq!(
            snake_arguments(args),
            serde_json::json!({"download_dir": "/x", "fields": ["hash_string", "percent_done"], "ids": "recently_active"})
        );
        let answer = serde_json::json!({"torrent-added": {"hashString": "ab", "id": 1}});
        assert_eq!(
            snake_keys(answer),
            serde_json::json!({"torrent_added": {"hash_string": "ab", "id": 1}})
        );
    }
}
