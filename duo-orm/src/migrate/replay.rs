//! The schema a sequence of migrations builds ([`Schema`]), replayed step by step: what
//! autogenerate diffs the models against, and what each step is checked and rendered against.

use super::*;
use crate::schema::ColumnType;

/// The schema a sequence of migrations builds: tables in creation order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// The tables, in the order they were created.
    pub tables: Vec<Table>,
}

impl Schema {
    /// The schema the `up` steps of `migrations` build from nothing.
    pub fn from_migrations<'a>(migrations: impl IntoIterator<Item = &'a Migration>) -> Result<Schema> {
        let mut schema = Schema::default();
        for migration in migrations {
            schema.apply_all(&migration.id, &migration.up)?;
        }
        Ok(schema)
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn table_mut(&mut self, name: &str) -> std::result::Result<&mut Table, String> {
        self.tables.iter_mut().find(|t| t.name == name).ok_or_else(|| format!("table `{name}` does not exist"))
    }

    /// Applies `steps` of migration `id` in order.
    pub fn apply_all(&mut self, id: &str, steps: &[Operation]) -> Result<()> {
        for (n, step) in steps.iter().enumerate() {
            self.apply(step).map_err(|why| step_error(id, n, step, &why))?;
        }
        Ok(())
    }

    /// Applies one step, checking that it fits.
    pub fn apply(&mut self, step: &Operation) -> std::result::Result<(), String> {
        check_enum_types(step)?;
        match step {
            Operation::CreateTable { table } => {
                if self.table(&table.name).is_some() {
                    return Err(format!("table `{}` already exists", table.name));
                }
                self.tables.push(table.clone());
            }
            Operation::DropTable { table } => {
                self.table_mut(&table.name)?;
                self.tables.retain(|t| t.name != table.name);
            }
            Operation::RenameTable { from, to } => {
                if self.table(to).is_some() {
                    return Err(format!("table `{to}` already exists"));
                }
                self.table_mut(from)?.name = to.clone();
                for table in &mut self.tables {
                    for fk in &mut table.foreign_keys {
                        if fk.references == *from {
                            fk.references = to.clone();
                        }
                    }
                }
            }
            Operation::AddColumn { table, column } => {
                let t = self.table_mut(table)?;
                if t.column(&column.name).is_some() {
                    return Err(format!("column `{table}.{}` already exists", column.name));
                }
                t.columns.push(column.clone());
            }
            Operation::DropColumn { table, column } => {
                let t = self.table_mut(table)?;
                if t.column(&column.name).is_none() {
                    return Err(format!("column `{table}.{}` does not exist", column.name));
                }
                t.columns.retain(|c| c.name != column.name);
            }
            Operation::AlterColumn { table, from, to } => {
                let t = self.table_mut(table)?;
                let column = t
                    .columns
                    .iter_mut()
                    .find(|c| c.name == from.name)
                    .ok_or_else(|| format!("column `{table}.{}` does not exist", from.name))?;
                *column = to.clone();
            }
            Operation::RenameColumn { table, from, to } => {
                let t = self.table_mut(table)?;
                if t.column(to).is_some() {
                    return Err(format!("column `{table}.{to}` already exists"));
                }
                let column =
                    t.columns.iter_mut().find(|c| c.name == *from).ok_or_else(|| format!("column `{table}.{from}` does not exist"))?;
                column.name = to.clone();
                let rename = |columns: &mut Vec<String>| columns.iter_mut().filter(|c| *c == from).for_each(|c| *c = to.clone());
                rename(&mut t.primary_key);
                t.indexes.iter_mut().for_each(|i| rename(&mut i.columns));
                t.foreign_keys.iter_mut().for_each(|f| rename(&mut f.columns));
                let table = table.clone();
                for other in &mut self.tables {
                    for fk in other.foreign_keys.iter_mut().filter(|f| f.references == table) {
                        rename(&mut fk.referenced_columns);
                    }
                }
            }
            Operation::CreateIndex { table, index } => {
                let t = self.table_mut(table)?;
                if t.indexes.iter().any(|i| i.name == index.name) {
                    return Err(format!("index `{}` already exists", index.name));
                }
                t.indexes.push(index.clone());
            }
            Operation::DropIndex { table, index } => {
                let t = self.table_mut(table)?;
                if !t.indexes.iter().any(|i| i.name == index.name) {
                    return Err(format!("index `{}` does not exist", index.name));
                }
                t.indexes.retain(|i| i.name != index.name);
            }
            Operation::AddForeignKey { table, foreign_key } => {
                let t = self.table_mut(table)?;
                if t.foreign_keys.iter().any(|f| f.name == foreign_key.name) {
                    return Err(format!("foreign key `{}` already exists", foreign_key.name));
                }
                t.foreign_keys.push(foreign_key.clone());
            }
            Operation::DropForeignKey { table, foreign_key } => {
                let t = self.table_mut(table)?;
                if !t.foreign_keys.iter().any(|f| f.name == foreign_key.name) {
                    return Err(format!("foreign key `{}` does not exist", foreign_key.name));
                }
                t.foreign_keys.retain(|f| f.name != foreign_key.name);
            }
            Operation::Sql { .. } => {}
        }
        Ok(())
    }
}

/// The enum types a step's columns name must be creatable (a plain name, valid labels) on
/// every dialect, not only where PostgreSQL creates them: a migration file means the same
/// everywhere.
fn check_enum_types(step: &Operation) -> std::result::Result<(), String> {
    let columns: Vec<&Column> = match step {
        Operation::CreateTable { table } => table.columns.iter().collect(),
        Operation::AddColumn { column, .. } => vec![column],
        Operation::AlterColumn { to, .. } => vec![to],
        _ => Vec::new(),
    };
    for column in columns {
        if let ColumnType::Enum(enum_type) = &column.column_type {
            enum_type.check().map_err(|why| format!("column `{}`: {why}", column.name))?;
        }
    }
    Ok(())
}
