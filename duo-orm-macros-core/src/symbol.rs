//! The attribute keywords, in one place.

pub const DUO: &str = "duo";

// Container: #[duo(...)]
pub const TABLE: &str = "table";
pub const DB: &str = "db";
pub const CRATE: &str = "crate";
pub const INDEX: &str = "index";
pub const UNIQUE: &str = "unique";

// Field: #[duo(...)]
pub const PRIMARY_KEY: &str = "primary_key";
pub const AUTO_INCREMENT: &str = "auto_increment";
pub const COLUMN: &str = "column";
pub const DEFAULT: &str = "default";
pub const DEFAULT_SQL: &str = "default_sql";
pub const MAX_LENGTH: &str = "max_length";
pub const REFERENCES: &str = "references";
pub const ON_DELETE: &str = "on_delete";
pub const ON_UPDATE: &str = "on_update";
pub const GUARDED: &str = "guarded";
pub const SQL_TYPE: &str = "sql_type";
pub const SET_ON: &str = "set_on";
pub const AUTO_NOW_ADD: &str = "auto_now_add";
pub const AUTO_NOW: &str = "auto_now";
pub const VERSION: &str = "version";

// Relationship fields: #[duo(has_many(Post, foreign_key = author_id, cascade))]
pub const RELATED: &str = "Related";
pub const HAS_MANY: &str = "has_many";
pub const HAS_ONE: &str = "has_one";
pub const BELONGS_TO: &str = "belongs_to";
pub const MANY_TO_MANY: &str = "many_to_many";
pub const FOREIGN_KEY: &str = "foreign_key";
pub const THROUGH: &str = "through";
pub const OWNER_KEY: &str = "owner_key";
pub const TARGET_KEY: &str = "target_key";
pub const CASCADE: &str = "cascade";
pub const RELATION_KEYS: &[&str] = &[HAS_MANY, HAS_ONE, BELONGS_TO, MANY_TO_MANY];
pub const RELATION_ARGS: &[&str] = &[FOREIGN_KEY, THROUGH, OWNER_KEY, TARGET_KEY, CASCADE, ORPHANS];
pub const ORPHANS: &str = "orphans";
/// `orphans = …`: what saving an owner does with loaded rows it no longer holds.
pub const ORPHAN_POLICIES: &[&str] = &["refuse", "delete", "keep"];

// Inside set_on(...)
pub const ON_CREATE: &str = "create";
pub const ON_UPDATE_EVENT: &str = "update";
pub const SET_ON_EVENTS: &[&str] = &[ON_CREATE, ON_UPDATE_EVENT];

pub const CONTAINER_KEYS: &[&str] = &[TABLE, DB, CRATE, INDEX, UNIQUE];
pub const FIELD_KEYS: &[&str] = &[
    PRIMARY_KEY,
    AUTO_INCREMENT,
    COLUMN,
    UNIQUE,
    INDEX,
    DEFAULT,
    DEFAULT_SQL,
    MAX_LENGTH,
    REFERENCES,
    ON_DELETE,
    ON_UPDATE,
    GUARDED,
    SQL_TYPE,
    SET_ON,
    AUTO_NOW_ADD,
    AUTO_NOW,
    VERSION,
    HAS_MANY,
    HAS_ONE,
    BELONGS_TO,
    MANY_TO_MANY,
];

/// `a, b, c` for messages.
pub fn one_of(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

// `#[derive(FieldType)]`.
pub const REPR: &str = "repr";
pub const POSTGRES_ENUM: &str = "postgres_enum";
pub const RENAME: &str = "rename";
pub const RENAME_ALL: &str = "rename_all";
pub const REPRS: &[&str] = &["i16", "i32", "i64"];
pub const RENAME_RULES: &[&str] = &["lowercase", "UPPERCASE", "snake_case", "SCREAMING_SNAKE_CASE", "kebab-case"];
