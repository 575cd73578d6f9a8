//! The steps a migration is made of ([`Operation`]), and how each reads in a plan.

use super::*;
use crate::schema::ColumnType;

/// One step of a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// `CREATE TABLE` with its indexes and foreign keys.
    CreateTable {
        /// The whole table.
        table: Table,
    },
    /// `DROP TABLE` (the table is kept whole so the step can be reversed).
    DropTable {
        /// The whole table as it was.
        table: Table,
    },
    /// Renames a table.
    RenameTable {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Adds a column.
    AddColumn {
        /// The table.
        table: String,
        /// The new column.
        column: Column,
    },
    /// Drops a column (kept whole so the step can be reversed).
    DropColumn {
        /// The table.
        table: String,
        /// The column as it was.
        column: Column,
    },
    /// Changes a column's type, nullability or default.
    AlterColumn {
        /// The table.
        table: String,
        /// The column as it was.
        from: Column,
        /// The column as it becomes (same name).
        to: Column,
    },
    /// Renames a column.
    RenameColumn {
        /// The table.
        table: String,
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Creates an index or unique constraint.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// Drops an index or unique constraint.
    DropIndex {
        /// The table.
        table: String,
        /// The index as it was.
        index: Index,
    },
    /// Adds a foreign key.
    AddForeignKey {
        /// The referencing table.
        table: String,
        /// The foreign key.
        foreign_key: ForeignKey,
    },
    /// Drops a foreign key.
    DropForeignKey {
        /// The referencing table.
        table: String,
        /// The foreign key as it was.
        foreign_key: ForeignKey,
    },
    /// Hand-written SQL: `sql` for every dialect, or per dialect (a dialect's own text wins).
    /// Autogenerate does not see what it changes.
    Sql {
        /// SQL for every dialect without its own text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sql: Option<String>,
        /// PostgreSQL's own SQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        postgres: Option<String>,
        /// MySQL/MariaDB's own SQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mysql: Option<String>,
        /// SQLite's own SQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sqlite: Option<String>,
        /// SQL Server's own SQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mssql: Option<String>,
        /// Oracle's own SQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        oracle: Option<String>,
    },
}

impl Operation {
    /// The step that undoes this one (`None` for hand-written SQL).
    pub fn inverse(&self) -> Option<Operation> {
        use Operation::*;
        Some(match self.clone() {
            CreateTable { table } => DropTable { table },
            DropTable { table } => CreateTable { table },
            RenameTable { from, to } => RenameTable { from: to, to: from },
            AddColumn { table, column } => DropColumn { table, column },
            DropColumn { table, column } => AddColumn { table, column },
            AlterColumn { table, from, to } => AlterColumn { table, from: to, to: from },
            RenameColumn { table, from, to } => RenameColumn { table, from: to, to: from },
            CreateIndex { table, index } => DropIndex { table, index },
            DropIndex { table, index } => CreateIndex { table, index },
            AddForeignKey { table, foreign_key } => DropForeignKey { table, foreign_key },
            DropForeignKey { table, foreign_key } => AddForeignKey { table, foreign_key },
            Sql { .. } => return None,
        })
    }

    /// One line saying what the step does, for `status`, `create` and drift reports.
    pub fn describe(&self) -> String {
        match self {
            Operation::CreateTable { table } => format!("create table {}", table.name),
            Operation::DropTable { table } => format!("drop table {}", table.name),
            Operation::RenameTable { from, to } => format!("rename table {from} to {to}"),
            Operation::AddColumn { table, column } => format!("add column {table}.{}", column.name),
            Operation::DropColumn { table, column } => format!("drop column {table}.{}", column.name),
            Operation::AlterColumn { table, from, to } => {
                let mut changes = Vec::new();
                if let (ColumnType::Enum(old), ColumnType::Enum(new)) = (&from.column_type, &to.column_type)
                    && old.name == new.name
                {
                    changes.push(format!("labels of enum {} ({}) -> ({})", new.name, old.labels.join(", "), new.labels.join(", ")));
                } else if from.column_type != to.column_type || from.max_length != to.max_length {
                    changes.push(format!("type {} -> {}", type_label(from), type_label(to)));
                }
                if from.nullable != to.nullable {
                    changes.push(if to.nullable { "nullable".to_string() } else { "not null".to_string() });
                }
                if from.default != to.default {
                    changes.push("default".to_string());
                }
                format!("alter column {table}.{} ({})", to.name, changes.join(", "))
            }
            Operation::RenameColumn { table, from, to } => format!("rename column {table}.{from} to {to}"),
            Operation::CreateIndex { table, index } => {
                format!("create {}index {} on {table} ({})", unique(index), index.name, index.columns.join(", "))
            }
            Operation::DropIndex { table, index } => format!("drop {}index {} on {table}", unique(index), index.name),
            Operation::AddForeignKey { table, foreign_key: fk } => format!(
                "add foreign key {} on {table} ({}) -> {} ({})",
                fk.name,
                fk.columns.join(", "),
                fk.references,
                fk.referenced_columns.join(", ")
            ),
            Operation::DropForeignKey { table, foreign_key } => format!("drop foreign key {} on {table}", foreign_key.name),
            Operation::Sql { .. } => "hand-written SQL".to_string(),
        }
    }
}

/// A step of migration `id` that does not fit the schema before it.
pub(crate) fn step_error(id: &str, n: usize, step: &Operation, why: &str) -> Error {
    Error::migration(
        MigrationKind::Plan,
        format!(
            "migration {id}, step {} ({}): {why}; help: the step does not fit the schema the earlier steps and \
         migrations build — fix the step or the order of the files",
            n + 1,
            step.describe()
        ),
    )
}

pub(super) fn unique(index: &Index) -> &'static str {
    if index.unique { "unique " } else { "" }
}

pub(super) fn type_label(column: &Column) -> String {
    match column.max_length {
        Some(n) => format!("{}({n})", column.column_type.name()),
        None => column.column_type.name(),
    }
}
