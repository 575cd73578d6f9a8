//! A database schema as owned data: tables, columns, indexes and foreign keys.
//!
//! Models describe their tables with `'static` metadata ([`ModelMeta`]); migrations need a
//! schema they can build up step by step, compare and write to files. Both meet here: a
//! model converts into a [`Table`] ([`Table::from_model`]), and every CREATE TABLE duo-orm
//! writes (`create_all` and migrations alike) is rendered from a [`Table`].

use serde::{Deserialize, Serialize};

use crate::model::{ColumnDefault, ModelMeta, ReferentialAction};
use crate::types::{ArrayOf, SqlType};

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// The primary-key columns, in key order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Indexes and unique constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Foreign keys held by this table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The portable type, rendered per dialect.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Whether the column accepts NULL.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// Whether the database generates the value (identity / auto-increment).
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_increment: bool,
    /// The maximum length of a text column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The column's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultValue>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A portable column type with an owned custom type: what schemas built at run time (and
/// migration files) hold.
pub type ColumnType = SqlType<String>;

/// The names migration files use for the portable types; a custom type is written `sql:<type>`.
const TYPE_NAMES: [(&str, ColumnType); 15] = [
    ("small_int", ColumnType::SmallInt),
    ("integer", ColumnType::Integer),
    ("big_int", ColumnType::BigInt),
    ("float", ColumnType::Float),
    ("double", ColumnType::Double),
    ("boolean", ColumnType::Boolean),
    ("text", ColumnType::Text),
    ("blob", ColumnType::Blob),
    ("timestamp_tz", ColumnType::TimestampTz),
    ("timestamp", ColumnType::Timestamp),
    ("date", ColumnType::Date),
    ("time", ColumnType::Time),
    ("uuid", ColumnType::Uuid),
    ("decimal", ColumnType::Decimal),
    ("json", ColumnType::Json),
];
const CUSTOM_PREFIX: &str = "sql:";

impl ColumnType {
    /// The name migration files use: `big_int`, `text`, … `text[]` for an array, or
    /// `sql:<type>`.
    pub fn name(&self) -> String {
        match self {
            ColumnType::Custom(sql) => format!("{CUSTOM_PREFIX}{sql}"),
            ColumnType::Array(of) => format!("{}[]", of.element::<String>().name()),
            known => TYPE_NAMES.iter().find(|(_, t)| t == known).map(|(n, _)| n.to_string()).unwrap_or_default(),
        }
    }

    /// Reads a name written by [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<ColumnType> {
        if let Some(sql) = name.strip_prefix(CUSTOM_PREFIX) {
            return Some(ColumnType::Custom(sql.to_string()));
        }
        if let Some(element) = name.strip_suffix("[]") {
            return ColumnType::from_name(element).as_ref().and_then(ArrayOf::of).map(ColumnType::Array);
        }
        TYPE_NAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone())
    }
}

impl Serialize for ColumnType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ColumnType::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = TYPE_NAMES.iter().map(|(n, _)| *n).collect();
            serde::de::Error::custom(format!(
                "unknown column type `{name}`; expected one of {} or `sql:<type>` for a type written as given",
                known.join(", ")
            ))
        })
    }
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultValue {
    /// A boolean literal.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal.
    Str(String),
    /// An SQL expression, written as given.
    Sql(String),
}

impl From<ColumnDefault> for DefaultValue {
    fn from(default: ColumnDefault) -> Self {
        match default {
            ColumnDefault::Bool(b) => DefaultValue::Bool(b),
            ColumnDefault::Int(i) => DefaultValue::Int(i),
            ColumnDefault::Float(f) => DefaultValue::Float(f),
            ColumnDefault::Str(s) => DefaultValue::Str(s.to_string()),
            ColumnDefault::Sql(s) => DefaultValue::Sql(s.to_string()),
        }
    }
}

/// An index, or a unique constraint (a unique index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The index's name (`ix_<table>_<columns>` / `uq_<table>_<columns>` for models).
    pub name: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether the index is unique.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint's name (`fk_<table>_<column>` for models).
    pub name: String,
    /// The referencing columns of this table.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
    /// The referenced columns.
    pub referenced_columns: Vec<String>,
    /// `ON DELETE` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<ReferentialAction>,
    /// `ON UPDATE` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<ReferentialAction>,
}

impl Index {
    /// The conventional name: `uq_<table>_<columns>` for a unique index, else `ix_…`.
    pub fn conventional_name(table: &str, columns: &[String], unique: bool) -> String {
        format!("{}_{table}_{}", if unique { "uq" } else { "ix" }, columns.join("_"))
    }
}

impl ForeignKey {
    /// The conventional name: `fk_<table>_<columns>`.
    pub fn conventional_name(table: &str, columns: &[String]) -> String {
        format!("fk_{table}_{}", columns.join("_"))
    }
}

impl Table {
    /// The table a model describes.
    pub fn from_model(meta: &ModelMeta) -> Table {
        let columns = meta
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.to_string(),
                column_type: c.sql_type.map_custom(str::to_string),
                nullable: c.nullable,
                auto_increment: c.auto_increment,
                max_length: c.max_length,
                default: c.default.map(DefaultValue::from),
            })
            .collect();
        let indexes = meta
            .indexes
            .iter()
            .map(|i| Index { name: i.name(meta.table), columns: i.columns.iter().map(|c| c.to_string()).collect(), unique: i.unique })
            .collect();
        let foreign_keys = meta
            .columns
            .iter()
            .filter_map(|c| {
                let fk = c.references.as_ref()?;
                let columns = vec![c.name.to_string()];
                Some(ForeignKey {
                    name: ForeignKey::conventional_name(meta.table, &columns),
                    columns,
                    references: (fk.target)().table.to_string(),
                    referenced_columns: vec![fk.target_column().to_string()],
                    on_delete: fk.on_delete,
                    on_update: fk.on_update,
                })
            })
            .collect();
        Table {
            name: meta.table.to_string(),
            columns,
            primary_key: meta.key_columns().map(|c| c.name.to_string()).collect(),
            indexes,
            foreign_keys,
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The single auto-increment primary-key column, if the key is one.
    pub fn auto_increment_key(&self) -> Option<&Column> {
        match self.primary_key.as_slice() {
            [key] => self.column(key).filter(|c| c.auto_increment),
            _ => None,
        }
    }

    /// Whether `column` is a key column or in an index (MySQL and SQL Server give such a text
    /// column a bounded type).
    pub fn is_indexed(&self, column: &str) -> bool {
        self.primary_key.iter().any(|k| k == column) || self.indexes.iter().any(|i| i.columns.iter().any(|c| c == column))
    }
}

/// The positions of `items` ordered so that referenced tables come before the tables
/// referencing them. `name` gives an item's table, `references` the tables it references;
/// self-references, tables outside `items` and cycles fall back to the given order.
pub(crate) fn dependency_order<T>(items: &[T], name: impl Fn(&T) -> &str, references: impl Fn(&T) -> Vec<&str>) -> Vec<usize> {
    let mut ordered: Vec<usize> = Vec::with_capacity(items.len());
    let placed = |ordered: &[usize], table: &str| ordered.iter().any(|&i| name(&items[i]) == table);
    while ordered.len() < items.len() {
        let before = ordered.len();
        for (i, item) in items.iter().enumerate() {
            if ordered.contains(&i) {
                continue;
            }
            let ready = references(item)
                .into_iter()
                .all(|target| target == name(item) || placed(&ordered, target) || !items.iter().any(|other| name(other) == target));
            if ready {
                ordered.push(i);
            }
        }
        if ordered.len() == before {
            // A cycle: take the rest as given.
            ordered.extend((0..items.len()).filter(|i| !ordered.contains(i)).collect::<Vec<_>>());
        }
    }
    ordered
}
