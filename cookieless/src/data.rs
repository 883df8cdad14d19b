//! The values a session holds, by key.

use std::fmt;

use compact_str::CompactString;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A session's values by key, in key order.
///
/// Sessions hold a handful of values, so they are one sorted vector whose keys of up to 24 bytes
/// are stored inline. Reading a value then touches the map and its entry, where a B-tree also
/// touched a separate node for values and a heap copy of each key; on a server whose network
/// stack evicts the caches between requests, each of those was a cache miss on every request.
/// Copying the map to change it is one allocation.
///
/// Serialised, it is the JSON object a `BTreeMap<String, Value>` makes (keys in order), so the
/// records stores hold read back unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data(Vec<(CompactString, Value)>);

impl Data {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let index = self.position(key).ok()?;
        Some(&self.0[index].1)
    }

    /// Sets `key` to `value`, returning what it held before.
    pub fn insert(&mut self, key: &str, value: Value) -> Option<Value> {
        match self.position(key) {
            Ok(index) => Some(std::mem::replace(&mut self.0[index].1, value)),
            Err(index) => {
                self.0.insert(index, (CompactString::from(key), value));
                None
            }
        }
    }

    /// Removes the value under `key`, returning it.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.position(key).ok()?;
        Some(self.0.remove(index).1)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_str())
    }

    /// The keys and their values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value))
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(stored, _)| stored.as_str().cmp(key))
    }

    /// Sorts entries read in any order, keeping the last of equal keys, as a map would.
    fn from_entries(mut entries: Vec<(CompactString, Value)>) -> Self {
        entries.reverse();
        // Stable, so that of equal keys the one read last comes first and `dedup` keeps it.
        entries.sort_by(|(a, _), (b, _)| a.cmp(b));
        entries.dedup_by(|(later, _), (kept, _)| later == kept);
        Data(entries)
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for Data {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(entries: I) -> Self {
        Data::from_entries(
            entries
                .into_iter()
                .map(|(key, value)| (CompactString::from(key.as_ref()), value))
                .collect(),
        )
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DataVisitor;

        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Data;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a map of session values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry::<CompactString, Value>()? {
                    entries.push(entry);
                }
                Ok(Data::from_entries(entries))
            }
        }

        deserializer.deserialize_map(DataVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_keys_in_order_and_behaves_as_a_map() {
        let mut data = Data::new();
        assert_eq!(data.insert("b", json!(2)), None);
        assert_eq!(data.insert("a", json!(1)), None);
        assert_eq!(data.insert("c", json!(3)), None);
        assert_eq!(data.insert("b", json!(20)), Some(json!(2)));
        assert_eq!(data.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(data.get("b"), Some(&json!(20)));
        assert_eq!(data.get("d"), None);
        assert_eq!(data.remove("a"), Some(json!(1)));
        assert_eq!(data.remove("a"), None);
        assert_eq!(data.len(), 2);
        let long_key = "a key longer than twenty-four bytes, kept on the heap";
        data.insert(long_key, json!("x"));
        assert_eq!(data.get(long_key), Some(&json!("x")));
    }

    #[test]
    fn serialises_as_the_json_a_btree_map_makes_and_reads_it_back() {
        let entries = [
            ("zeta", json!([1, 2])),
            ("alpha", json!({"k": "v"})),
            ("mu", json!(null)),
        ];
        let data: Data = entries.clone().into_iter().collect();
        let map: BTreeMap<String, Value> = entries
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect();
        let json = serde_json::to_string(&data).unwrap();
        assert_eq!(json, serde_json::to_string(&map).unwrap());
        assert_eq!(serde_json::from_str::<Data>(&json).unwrap(), data);
    }

    #[test]
    fn reading_unordered_or_repeated_keys_sorts_them_and_keeps_the_last() {
        let data: Data =
            serde_json::from_str(r#"{"b": 1, "a": 2, "b": 3, "c": 4, "a": 5}"#).unwrap();
        assert_eq!(
            data.iter().collect::<Vec<_>>(),
            [("a", &json!(5)), ("b", &json!(3)), ("c", &json!(4))]
        );
        assert!(serde_json::from_str::<Data>("[1, 2]").is_err());
    }
}
