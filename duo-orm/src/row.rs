//! Rows into Rust values, by position: models, row structs (`#[derive(FromRow)]`), tuples and
//! single columns.

use crate::types::{FieldType, RowCursor, RowResult};

/// A type a result row decodes into, column after column in order: no name lookups.
///
/// Implemented by every model (`#[derive(Model)]`), by structs deriving `FromRow`, by every
/// field type (a one-column row: `i64`, `String`, `Option<T>`, …) and by tuples of these, up to
/// twelve. A tuple reads its elements one after the other, so `(User, i64)` reads the user's
/// columns, then one more.
///
/// ```
/// use duo_orm::prelude::*;
///
/// /// A report row: the columns of a hand-written query, in order.
/// #[derive(FromRow, Debug, PartialEq)]
/// struct Tally {
///     owner: String,
///     total: i64,
///     last: Option<i64>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> duo_orm::Result<()> {
/// let db = Database::new("sqlite::memory:");
/// db.execute_raw("CREATE TABLE votes (owner TEXT, stars INTEGER)").await?;
/// db.raw("INSERT INTO votes VALUES (?, ?), (?, ?)").bind("ada").bind(3).bind("ada").bind(4).execute().await?;
/// let tallies: Vec<Tally> =
///     db.raw("SELECT owner, SUM(stars), MAX(stars) FROM votes GROUP BY owner").all().await?;
/// assert_eq!(tallies, [Tally { owner: "ada".into(), total: 7, last: Some(4) }]);
/// # Ok(())
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be decoded from a row",
    label = "not a row type",
    note = "rows decode into models, `#[derive(FromRow)]` structs, field types (one column) and tuples of these"
)]
pub trait FromRow: Sized + Send + 'static {
    /// What decode errors call the rows.
    const NAME: &'static str = "row";

    /// Reads this value's columns from `row`, from its current position.
    fn from_row(row: &mut RowCursor<'_>) -> RowResult<Self>;
}

/// A row type that reads columns of the types `T`, in order: what
/// [`Projected::into_rows`](crate::Projected::into_rows) asks of the type it reads the picks as,
/// so that a struct whose fields do not match the picks does not compile.
///
/// Every row type reads its own columns (`T: RowOf<T>`), and `#[derive(FromRow)]` makes a
/// struct `RowOf` the tuple of its fields' types (and, with one field, of that type). Rows that
/// only the database shapes (`db.raw`, `from_statement`) are checked as they are read instead:
/// a field that does not fit its column is an `Error::Decode` naming the field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not read the picked columns `{T}`",
    label = "its fields do not have the picks' types",
    note = "a row struct has one field per pick, of the pick's type, in order"
)]
pub trait RowOf<T> {}

impl<T> RowOf<T> for T {}

impl<T: FieldType> FromRow for T {
    #[inline]
    fn from_row(row: &mut RowCursor<'_>) -> RowResult<Self> {
        row.next_column::<T>()
    }
}

macro_rules! tuple_rows {
    ($($name:ident),+) => {
        impl<$($name: FromRow),+> FromRow for ($($name,)+) {
            #[inline]
            fn from_row(row: &mut RowCursor<'_>) -> RowResult<Self> {
                Ok(($($name::from_row(row)?,)+))
            }
        }
    };
}

/// Invokes `$tuple!` once per tuple arity duo-orm implements its traits for, one to twelve.
macro_rules! for_each_tuple {
    ($tuple:ident) => {
        $tuple!(A);
        $tuple!(A, B);
        $tuple!(A, B, C);
        $tuple!(A, B, C, D);
        $tuple!(A, B, C, D, E);
        $tuple!(A, B, C, D, E, F);
        $tuple!(A, B, C, D, E, F, G);
        $tuple!(A, B, C, D, E, F, G, H);
        $tuple!(A, B, C, D, E, F, G, H, I);
        $tuple!(A, B, C, D, E, F, G, H, I, J);
        $tuple!(A, B, C, D, E, F, G, H, I, J, K);
        $tuple!(A, B, C, D, E, F, G, H, I, J, K, L);
    };
}
pub(crate) use for_each_tuple;

for_each_tuple!(tuple_rows);
