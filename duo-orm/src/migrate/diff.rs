//! Autogenerate: the steps that turn one schema into another.

use super::{Operation, Schema};
use crate::error::{Error, MigrationKind, Result};
use crate::schema::Table;

/// Renames to emit as explicit steps instead of a drop and an add (a diff cannot tell a
/// rename from a drop and an add).
#[derive(Debug, Clone, Default)]
pub struct Renames {
    /// `(old table, new table)`.
    pub tables: Vec<(String, String)>,
    /// `(table (new name), old column, new column)`.
    pub columns: Vec<(String, String, String)>,
}

/// The `up` steps from `old` to `new`, honouring `renames`. Revert them with
/// [`Operation::inverse`] in reverse order.
///
/// The order keeps every step valid: renames; then foreign keys and indexes that go; tables
/// that go (referencing ones first); tables that come (referenced ones first); columns; then
/// indexes and foreign keys that come.
pub fn diff(old: &Schema, new: &Schema, renames: &Renames) -> Result<Vec<Operation>> {
    let mut steps = Vec::new();
    let mut old = old.clone();
    for (from, to) in &renames.tables {
        let step = Operation::RenameTable { from: from.clone(), to: to.clone() };
        if new.table(to).is_none() {
            return Err(Error::migration(
                MigrationKind::Plan,
                format!("cannot rename table `{from}` to `{to}`: no model has the table `{to}`"),
            ));
        }
        old.apply(&step).map_err(|why| Error::migration(MigrationKind::Plan, format!("cannot rename table `{from}` to `{to}`: {why}")))?;
        steps.push(step);
    }
    for (table, from, to) in &renames.columns {
        let step = Operation::RenameColumn { table: table.clone(), from: from.clone(), to: to.clone() };
        if new.table(table).and_then(|t| t.column(to)).is_none() {
            return Err(Error::migration(
                MigrationKind::Plan,
                format!("cannot rename column `{table}.{from}` to `{to}`: no model has the column `{table}.{to}`"),
            ));
        }
        old.apply(&step)
            .map_err(|why| Error::migration(MigrationKind::Plan, format!("cannot rename column `{table}.{from}` to `{to}`: {why}")))?;
        steps.push(step);
    }

    let kept: Vec<(&Table, &Table)> = new.tables.iter().filter_map(|n| old.table(&n.name).map(|o| (o, n))).collect();
    for (o, n) in &kept {
        if o.primary_key != n.primary_key {
            return Err(Error::migration(
                MigrationKind::Plan,
                format!(
                    "the primary key of `{}` changes ({} -> {}): autogenerate does not change primary keys; \
                 help: write the change as a hand-written migration (`duo-orm migrate new`)",
                    n.name,
                    o.primary_key.join(", "),
                    n.primary_key.join(", ")
                ),
            ));
        }
        for column in &n.columns {
            if let Some(before) = o.column(&column.name)
                && before.auto_increment != column.auto_increment
            {
                return Err(Error::migration(
                    MigrationKind::Plan,
                    format!(
                        "`{}.{}` changes whether it auto-increments: autogenerate does not change identity columns; \
                     help: write the change as a hand-written migration (`duo-orm migrate new`)",
                        n.name, column.name
                    ),
                ));
            }
        }
    }

    // Foreign keys and indexes that go or change.
    for (o, n) in &kept {
        for fk in o.foreign_keys.iter().filter(|fk| !n.foreign_keys.contains(fk)) {
            steps.push(Operation::DropForeignKey { table: o.name.clone(), foreign_key: fk.clone() });
        }
        for index in o.indexes.iter().filter(|i| !n.indexes.contains(i)) {
            steps.push(Operation::DropIndex { table: o.name.clone(), index: index.clone() });
        }
    }
    // Tables that go: those referencing others first. Foreign keys between them go first,
    // so a cycle drops too, and the down steps create the tables before adding them back.
    let gone: Vec<&Table> = old.tables.iter().filter(|t| new.table(&t.name).is_none()).collect();
    let is_gone = |name: &str| gone.iter().any(|t| t.name == name);
    for table in &gone {
        for fk in table.foreign_keys.iter().filter(|fk| is_gone(&fk.references) && fk.references != table.name) {
            steps.push(Operation::DropForeignKey { table: table.name.clone(), foreign_key: fk.clone() });
        }
    }
    for table in dependency_order(&gone).into_iter().rev() {
        let mut table = table.clone();
        table.foreign_keys.retain(|fk| !is_gone(&fk.references) || fk.references == table.name);
        steps.push(Operation::DropTable { table });
    }
    // Tables that come: referenced ones first. A foreign key to a table created later (a
    // cycle) is added once both exist.
    let coming: Vec<&Table> = new.tables.iter().filter(|t| old.table(&t.name).is_none()).collect();
    let mut created: Vec<String> = old.tables.iter().filter(|t| new.table(&t.name).is_some()).map(|t| t.name.clone()).collect();
    let mut deferred = Vec::new();
    for table in dependency_order(&coming) {
        let mut table = table.clone();
        created.push(table.name.clone());
        let (now, later): (Vec<_>, Vec<_>) = table.foreign_keys.drain(..).partition(|fk| created.contains(&fk.references));
        table.foreign_keys = now;
        deferred.extend(later.into_iter().map(|fk| Operation::AddForeignKey { table: table.name.clone(), foreign_key: fk }));
        steps.push(Operation::CreateTable { table });
    }
    // Columns.
    for (o, n) in &kept {
        for column in o.columns.iter().filter(|c| n.column(&c.name).is_none()) {
            steps.push(Operation::DropColumn { table: n.name.clone(), column: column.clone() });
        }
        for column in &n.columns {
            match o.column(&column.name) {
                None => steps.push(Operation::AddColumn { table: n.name.clone(), column: column.clone() }),
                Some(before) if before != column => {
                    steps.push(Operation::AlterColumn { table: n.name.clone(), from: before.clone(), to: column.clone() })
                }
                Some(_) => {}
            }
        }
    }
    // Indexes and foreign keys that come or change.
    for (o, n) in &kept {
        for index in n.indexes.iter().filter(|i| !o.indexes.contains(i)) {
            steps.push(Operation::CreateIndex { table: n.name.clone(), index: index.clone() });
        }
        for fk in n.foreign_keys.iter().filter(|fk| !o.foreign_keys.contains(fk)) {
            steps.push(Operation::AddForeignKey { table: n.name.clone(), foreign_key: fk.clone() });
        }
    }
    steps.extend(deferred);
    Ok(steps)
}

/// `tables` with referenced tables before the tables referencing them.
fn dependency_order<'a>(tables: &[&'a Table]) -> Vec<&'a Table> {
    let order =
        crate::schema::dependency_order(tables, |t| t.name.as_str(), |t| t.foreign_keys.iter().map(|fk| fk.references.as_str()).collect());
    order.into_iter().map(|i| tables[i]).collect()
}
