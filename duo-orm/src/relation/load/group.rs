//! Grouping fetched rows by the owner key they point at ([`KeyIndex`]: by offset for dense
//! integer keys, else hashed).

use super::*;

/// A key value as a hash-map key. Integer keys (nearly all of them) hash as one `i64`, as a
/// hand-written `HashMap<i64, _>` would: hashing the whole `Value` enum doubled the cost of
/// grouping rows.
#[derive(PartialEq, Eq)]
pub(crate) enum LinkKey {
    Int(i64),
    Other(Value),
}

impl std::hash::Hash for LinkKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            LinkKey::Int(i) => state.write_i64(*i),
            LinkKey::Other(value) => value.hash(state),
        }
    }
}

impl From<Value> for LinkKey {
    #[inline]
    fn from(value: Value) -> Self {
        match integer_key(&value) {
            Some(i) => LinkKey::Int(i),
            None => LinkKey::Other(value),
        }
    }
}

/// An owner's primary key, read from its row before the row is decoded.
#[derive(PartialEq, Eq, Hash)]
pub(super) enum OwnerKey {
    One(LinkKey),
    Composite(Vec<LinkKey>),
}

impl OwnerKey {
    /// The key of a decoded owner.
    pub(super) fn of<M: Model>(owner: &M) -> OwnerKey {
        match M::meta().primary_key {
            [index] => OwnerKey::One(owner.value_at(*index).into()),
            indexes => OwnerKey::Composite(indexes.iter().map(|&index| owner.value_at(index).into()).collect()),
        }
    }

    /// The key of the owner `row` is about to decode (`meta`'s columns come first in it), read
    /// as its columns are declared: for integer keys, which every integer field type reads
    /// alike.
    pub(super) fn read(meta: &ModelMeta, row: &RowCursor<'_>) -> Result<OwnerKey> {
        let key_at = |index: usize| row.value_ahead(index, &meta.columns[index]).map(LinkKey::from);
        match meta.primary_key {
            [index] => key_at(*index).map(OwnerKey::One),
            indexes => indexes.iter().map(|&index| key_at(index)).collect::<Result<_>>().map(OwnerKey::Composite),
        }
    }
}

/// An integer key as one `i64` (`None`: not an integer, or NULL).
#[inline(always)]
pub(super) fn integer_key(value: &Value) -> Option<i64> {
    match *value {
        Value::TinyInt(Some(i)) => Some(i.into()),
        Value::SmallInt(Some(i)) => Some(i.into()),
        Value::Int(Some(i)) => Some(i.into()),
        Value::BigInt(Some(i)) => Some(i),
        Value::TinyUnsigned(Some(i)) => Some(i.into()),
        Value::SmallUnsigned(Some(i)) => Some(i.into()),
        Value::Unsigned(Some(i)) => Some(i.into()),
        _ => None,
    }
}

/// How a has_many hop finds the group of a row's key: owner keys are numbered in first-seen
/// order, and the rows of key number `g` gather in group `g`.
pub(super) enum KeyIndex {
    /// Integer keys spread over a range at most a few times their number (auto-increment ids,
    /// nearly always): a table indexed by `key - base`, where a row's group costs one array
    /// read instead of a hash lookup. [`NO_GROUP`] marks the gaps.
    Dense { base: i64, groups: Vec<u32> },
    /// Any other keys.
    Hashed(HashMap<LinkKey, u32>),
}

pub(super) const NO_GROUP: u32 = u32::MAX;

impl KeyIndex {
    /// The distinct non-NULL keys of the owner keys `values` in first-seen order (what the
    /// statements select by), and their index.
    pub(super) fn new(values: Vec<Value>) -> (Vec<Value>, KeyIndex) {
        let mut keys = Vec::with_capacity(values.len());
        if let Some((base, span)) = dense_range(&values) {
            let mut groups = vec![NO_GROUP; span];
            for value in values {
                let Some(key) = integer_key(&value) else { continue };
                let slot = &mut groups[(key - base) as usize];
                if *slot == NO_GROUP {
                    *slot = keys.len() as u32;
                    keys.push(value);
                }
            }
            return (keys, KeyIndex::Dense { base, groups });
        }
        let mut groups = HashMap::with_capacity(values.len());
        for value in values {
            if value == value.as_null() {
                continue;
            }
            if let Entry::Vacant(slot) = groups.entry(LinkKey::from(value.clone())) {
                slot.insert(keys.len() as u32);
                keys.push(value);
            }
        }
        (keys, KeyIndex::Hashed(groups))
    }

    /// The group of the key `value`, if an owner has it.
    /// Called once per row: inlined, with no drop of the (heap-free) integer value.
    #[inline(always)]
    pub(super) fn group(&self, value: Value) -> Option<usize> {
        let group = match integer_key(&value) {
            Some(key) => {
                // `integer_key` only answers for the integer variants, which own no heap
                // memory: forgetting one frees nothing, and saves the out-of-line drop of a
                // `Value` per row.
                std::mem::forget(value);
                match self {
                    KeyIndex::Dense { base, groups } => *groups.get(usize::try_from(key.wrapping_sub(*base)).ok()?)?,
                    KeyIndex::Hashed(groups) => *groups.get(&LinkKey::Int(key))?,
                }
            }
            None => match self {
                KeyIndex::Dense { .. } => return None,
                KeyIndex::Hashed(groups) => *groups.get(&LinkKey::Other(value))?,
            },
        };
        (group != NO_GROUP).then_some(group as usize)
    }
}

/// The lowest key and the span of `values` when they are all integers or NULL (at least one
/// integer) spread over at most four slots per value (64 at least, 4 Mi at most): the table of
/// [`KeyIndex::Dense`] then stays within a few bytes per owner.
pub(super) fn dense_range(values: &[Value]) -> Option<(i64, usize)> {
    let (mut low, mut high) = (i64::MAX, i64::MIN);
    for value in values {
        match integer_key(value) {
            Some(key) => {
                low = Ord::min(low, key);
                high = Ord::max(high, key);
            }
            None if *value == value.as_null() => {}
            None => return None,
        }
    }
    let span = usize::try_from(high.checked_sub(low)?).ok()?.checked_add(1)?;
    (span <= (values.len() * 4).clamp(64, 1 << 22)).then_some((low, span))
}

/// Puts `target` in the group of its foreign key at `foreign_key`, or, when that key equals no
/// owner key exactly, in `unmatched` with the key. Called once per row.
#[inline(always)]
pub(super) fn place<T: Model>(index: &KeyIndex, groups: &mut [Vec<T>], unmatched: &mut Vec<(Value, T)>, target: T, foreign_key: usize) {
    match index.group(target.value_at(foreign_key)) {
        Some(group) => groups[group].push(target),
        None => unmatched.push((target.value_at(foreign_key), target)),
    }
}

#[cfg(test)]
mod tests {
    use sea_query::Value;

    use super::KeyIndex;

    fn int(i: i32) -> Value {
        Value::Int(Some(i))
    }

    #[test]
    fn dense_integer_keys_index_by_offset() {
        let (keys, index) = KeyIndex::new(vec![int(3), int(1), Value::Int(None), int(3), int(2)]);
        assert!(matches!(index, KeyIndex::Dense { base: 1, .. }));
        assert_eq!(keys, vec![int(3), int(1), int(2)], "distinct, first seen first, no NULL");
        assert_eq!(index.group(int(3)), Some(0));
        assert_eq!(index.group(Value::BigInt(Some(1))), Some(1), "integer widths compare by value");
        assert_eq!(index.group(Value::Unsigned(Some(2))), Some(2));
        for missing in [int(0), int(4), int(-1), Value::BigInt(Some(i64::MIN)), Value::BigInt(Some(i64::MAX))] {
            assert_eq!(index.group(missing.clone()), None, "{missing:?}");
        }
        assert_eq!(index.group(Value::String(Some("1".into()))), None);
        assert_eq!(index.group(Value::Int(None)), None);
    }

    #[test]
    fn gaps_in_a_dense_range_find_no_group() {
        let (keys, index) = KeyIndex::new(vec![int(-3), int(10), int(-1)]);
        assert!(matches!(index, KeyIndex::Dense { base: -3, .. }));
        assert_eq!(keys.len(), 3);
        assert_eq!((index.group(int(-3)), index.group(int(-1)), index.group(int(10))), (Some(0), Some(2), Some(1)));
        assert_eq!(index.group(int(0)), None, "a gap in the table");
    }

    #[test]
    fn a_table_spans_at_most_four_slots_per_key_and_at_least_64() {
        let dense = |keys: Vec<i32>| matches!(KeyIndex::new(keys.into_iter().map(int).collect()).1, KeyIndex::Dense { .. });
        assert!(dense(vec![0, 63]), "64 slots for two keys");
        assert!(!dense(vec![0, 64]), "65 slots for two keys");
        let twenty = |last: i32| (0..19).chain([last]).collect::<Vec<_>>();
        assert!(dense(twenty(79)), "80 slots for 20 keys");
        assert!(!dense(twenty(80)), "81 slots for 20 keys");
    }

    #[test]
    fn sparse_or_extreme_integer_keys_are_hashed() {
        let (_, index) = KeyIndex::new(vec![int(1), int(10_000_000)]);
        assert!(matches!(index, KeyIndex::Hashed(_)));
        assert_eq!((index.group(int(10_000_000)), index.group(int(1)), index.group(int(2))), (Some(1), Some(0), None));
        let (_, index) = KeyIndex::new(vec![Value::BigInt(Some(i64::MIN)), Value::BigInt(Some(i64::MAX))]);
        assert!(matches!(index, KeyIndex::Hashed(_)), "the span overflows: no table");
        assert_eq!(index.group(Value::BigInt(Some(i64::MAX))), Some(1));
    }

    #[test]
    fn other_keys_are_hashed_by_value() {
        let text = |s: &str| Value::String(Some(s.into()));
        let (keys, index) = KeyIndex::new(vec![text("b"), text("a"), text("b"), Value::String(None)]);
        assert!(matches!(index, KeyIndex::Hashed(_)));
        assert_eq!(keys, vec![text("b"), text("a")]);
        assert_eq!((index.group(text("a")), index.group(text("b")), index.group(text("c"))), (Some(1), Some(0), None));
        assert_eq!(index.group(int(1)), None);
        let (keys, index) = KeyIndex::new(vec![Value::Int(None)]);
        assert!(keys.is_empty());
        assert_eq!(index.group(int(1)), None);
    }
}
