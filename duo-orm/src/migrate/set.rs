//! An ordered set of migrations ([`Migrations`]): read from a directory or embedded, looked
//! up by id, rendered for a dialect.

use super::*;

/// An ordered set of migrations.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    pub(super) list: Vec<Migration>,
}

impl Migrations {
    /// Reads every `*.toml` file of `dir`, in file-name order. A missing directory is an
    /// error that says how to create it.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrations> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::migration(
                MigrationKind::File,
                format!("cannot read the migrations directory `{}`: {e}; help: run `duo-orm init`, or create the directory", dir.display()),
            )
        })?;
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let path = entry.map_err(Error::Io)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
        files.sort();
        let mut list = Vec::with_capacity(files.len());
        for path in files {
            let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::migration(MigrationKind::File, format!("cannot read migration `{}`: {e}", path.display())))?;
            list.push(Migration::parse(&id, &text)?);
        }
        Migrations::from_list(list)
    }

    /// Migrations embedded at compile time (what `embed_migrations!` generates): `(id, text)`.
    pub fn embedded(files: &[(&str, &str)]) -> Result<Migrations> {
        let list = files.iter().map(|(id, text)| Migration::parse(id, text)).collect::<Result<Vec<_>>>()?;
        Migrations::from_list(list)
    }

    /// Migrations given in any order (sorted by id); ids must be unique.
    pub fn from_list(mut list: Vec<Migration>) -> Result<Migrations> {
        list.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(pair) = list.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::migration(MigrationKind::File, format!("two migrations have the id {}", pair[0].id)));
        }
        Ok(Migrations { list })
    }

    /// The migrations, in the order they apply.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.list.iter()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The migration with id `id`, or whose id starts with `id` when that is unambiguous
    /// (`20261124061500` finds `20261124061500_initial`).
    pub fn find(&self, id: &str) -> Result<usize> {
        if let Some(i) = self.list.iter().position(|m| m.id == id) {
            return Ok(i);
        }
        let matches: Vec<usize> = (0..self.list.len()).filter(|&i| self.list[i].id.starts_with(id)).collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::migration(
                MigrationKind::File,
                format!("no migration has the id `{id}`; help: `duo-orm migrate history` lists them"),
            )),
            _ => Err(Error::migration(MigrationKind::File, format!("`{id}` matches {} migrations; give more of the id", matches.len()))),
        }
    }

    /// The schema before each migration, then the one after the last: `schemas()[i]` is what
    /// migration `i` starts from. Built by one replay of every `up` step.
    pub fn schemas(&self) -> Result<Vec<Schema>> {
        let mut schemas = vec![Schema::default()];
        self.extend_schemas(&mut schemas, self.list.len())?;
        Ok(schemas)
    }

    /// Extends `schemas` (as [`schemas`](Self::schemas) builds them, from at least the empty
    /// one) until it holds the schema after the first `count` migrations: a run replays only
    /// as far as it goes, once.
    pub fn extend_schemas(&self, schemas: &mut Vec<Schema>, count: usize) -> Result<()> {
        if schemas.is_empty() {
            schemas.push(Schema::default());
        }
        while schemas.len() <= count {
            let migration = &self.list[schemas.len() - 1];
            let mut next = schemas[schemas.len() - 1].clone();
            next.apply_all(&migration.id, &migration.up)?;
            schemas.push(next);
        }
        Ok(())
    }

    /// The statements that apply (`up`) or revert migration `index` in `dialect`, given
    /// [`schemas`](Self::schemas).
    pub fn statements(&self, index: usize, up: bool, dialect: Dialect, schemas: &[Schema]) -> Result<Vec<String>> {
        let migration = &self.list[index];
        if up {
            render_steps(&migration.id, &migration.up, &mut schemas[index].clone(), dialect)
        } else {
            render_steps(&migration.id, &migration.down, &mut schemas[index + 1].clone(), dialect)
        }
    }

    /// The SQL that applies every migration (`up`) or reverts every one, last first (`down`),
    /// in `dialect`: what `duo-orm migrate sql` prints, without a database.
    pub fn render(&self, dialect: Dialect, down: bool) -> Result<Vec<(String, Vec<String>)>> {
        let schemas = self.schemas()?;
        let order: Vec<usize> = if down { (0..self.list.len()).rev().collect() } else { (0..self.list.len()).collect() };
        order.into_iter().map(|i| Ok((self.list[i].id.clone(), self.statements(i, !down, dialect, &schemas)?))).collect()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
