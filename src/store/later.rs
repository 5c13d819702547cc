//! Rows a transaction writes later ([`Conn::write_later`]): the reader's slices keep their
//! messages' rows (the inbound row, a time log's submission with its entries, its receipt) and
//! write them together, in multi-row `INSERT`s (on PostgreSQL in one round trip), before the
//! transaction's next statement or at its commit. So whatever the transaction reads, it reads
//! after them, as if each had been written as it came; a row that fails to be written fails
//! that next statement (the reader then does its slice again, a row at a time). On SQLite the
//! message of a receipt still being built waits for a later write, at the latest the one before
//! the commit ([`Conn::flush`]).
//!
//! Their ids are taken beforehand, as the rows that name them need them: on SQLite, where this
//! transaction holds the one write lock, the ids after the highest the table has (read again
//! after every other statement, which may have written one); on PostgreSQL a few at a time from
//! the table's sequence.

use super::{Backend, Conn, Driver, Table, inbound, outbox, timelog};

/// Rows kept for one table's statement at most before they are written: with their receipts
/// about half a megabyte, far below the parameters SQLite takes in one statement (32,766; an
/// entry binds 8). 256 were no faster on either backend and took the peak RSS of `run --once`
/// on 2,000 mails from 22 to 34 MiB on PostgreSQL (the driver keeps its buffers as large as
/// the largest statement).
const ROWS: usize = 64;

/// The most rows one statement writes on SQLite: a time log's entries may be many (eight to a
/// message are counted as one of [`ROWS`]); 512 rows of at most 16 parameters stay far below
/// the 32,766 SQLite takes in one statement.
const PIECE: usize = 512;

/// Ids taken from a PostgreSQL sequence at once.
const IDS_AT_ONCE: i64 = 64;

/// What a transaction keeps to write later, and the ids it has taken.
#[derive(Debug, Default)]
pub(super) struct Later {
    inbound: Vec<inbound::Row>,
    submissions: Vec<timelog::LaterSubmission>,
    entries: Vec<timelog::LaterEntry>,
    outbox: Vec<outbox::Row>,
    /// SQLite: rows of `outbox` written whose messages (`outbox_raw`) are not, as they were
    /// still being built: written by a later write once built, and all by [`Conn::flush`].
    messages: Vec<outbox::Row>,
    /// SQLite: the next id of each table, while no other statement ran since they were read.
    next: Option<[i64; 3]>,
    /// PostgreSQL: ids taken from each table's sequence and not used yet (used from the end).
    free: [Vec<i64>; 3],
}

impl Later {
    fn is_empty(&self) -> bool {
        self.inbound.is_empty()
            && self.submissions.is_empty()
            && self.entries.is_empty()
            && self.outbox.is_empty()
            && self.messages.is_empty()
    }

    /// Whether a table's rows are as many as one statement takes.
    fn full(&self) -> bool {
        [
            self.inbound.len(),
            self.submissions.len(),
            self.entries.len() / 8,
            self.outbox.len(),
        ]
        .into_iter()
        .any(|rows| rows >= ROWS)
    }

    /// Writes the rows kept, the tables in the order their references run.
    ///
    /// On SQLite, each table's rows go in [`pieces`] (64, 32, ... 1 rows; a time log's entries
    /// up to [`PIECE`]), each a statement the driver keeps prepared: a text written afresh for
    /// each number of rows was parsed at every write, 5 % of the daemon's CPU on 2,000 time logs
    /// (on a thread of its own, each statement is a round trip of microseconds). On PostgreSQL,
    /// one statement in one round trip, each table's insert a data-modifying `WITH`; its text
    /// changes with the number of rows, so it is not kept prepared. On SQLite a receipt still
    /// being built on the second CPU has its row written and its message kept, unless `all`
    /// (before the commit): no statement of the transaction reads `outbox_raw`, and the reader
    /// goes on instead of waiting for the build of the receipt it has just kept. On PostgreSQL
    /// the receipts are waited for first.
    async fn write(&mut self, driver: Driver<'_>, all: bool) -> Result<(), sqlx::Error> {
        if self.is_empty() {
            return Ok(());
        }
        let Later {
            inbound,
            submissions,
            entries,
            outbox,
            messages,
            ..
        } = self;
        match driver {
            Driver::Sqlite(c) => {
                type Builder = sqlx::QueryBuilder<sqlx::Sqlite>;
                for rows in pieces(inbound) {
                    let mut query = Builder::new("");
                    inbound::push_rows!(query, rows, true);
                    query.build().execute(&mut *c).await?;
                }
                for rows in pieces(submissions) {
                    let mut query = Builder::new("");
                    timelog::push_submissions!(query, rows);
                    query.build().execute(&mut *c).await?;
                }
                for rows in pieces(entries) {
                    let mut query = Builder::new("");
                    timelog::push_entries!(query, rows);
                    query.build().execute(&mut *c).await?;
                }
                for rows in pieces(outbox) {
                    let mut query = Builder::new("");
                    outbox::push_rows!(query, rows, true, Backend::Sqlite);
                    query.build().execute(&mut *c).await?;
                }
                messages.append(outbox);
                let mut built = Vec::with_capacity(messages.len());
                let mut building = Vec::new();
                for mut row in messages.drain(..) {
                    if all || row.is_built() {
                        row.built().await?;
                        built.push(row);
                    } else {
                        building.push(row);
                    }
                }
                *messages = building;
                for rows in pieces(&built) {
                    let mut query = Builder::new("");
                    push_raw!(query, rows);
                    query.build().execute(&mut *c).await?;
                }
            }
            Driver::Postgres(c) => {
                for row in outbox.iter_mut() {
                    row.built().await?;
                }
                let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
                let mut part = Part::new();
                push_all!(query, part, inbound, submissions, entries, outbox);
                query.push(" SELECT 1");
                query.build().persistent(false).execute(c).await?;
            }
        }
        inbound.clear();
        submissions.clear();
        entries.clear();
        outbox.clear();
        Ok(())
    }
}

/// `rows` in pieces whose lengths are powers of two up to [`PIECE`], longest first: so the
/// statements that write them are a few texts, whatever the number of rows.
fn pieces<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = 1 << rest.len().min(PIECE).ilog2();
        let (piece, after) = rest.split_at(len);
        rest = after;
        Some(piece)
    })
}

/// Pushes the insert of the receipts' messages (`outbox_raw`) of `$rows` (`&[outbox::Row]`).
macro_rules! push_raw {
    ($query:ident, $rows:expr) => {
        $query.push("INSERT INTO outbox_raw (outbox_id, raw) ");
        $query.push_values($rows.iter(), |mut row, r| {
            row.push_bind(r.id).push_bind(&r.raw[..]);
        });
    };
}
use push_raw;

/// Pushes each non-empty table's insert as a `WITH` of one PostgreSQL statement, in the order
/// their references run.
macro_rules! push_all {
    ($query:ident, $part:ident, $inbound:ident, $submissions:ident, $entries:ident, $outbox:ident) => {
        if !$inbound.is_empty() {
            $query.push($part.open("i"));
            inbound::push_rows!($query, $inbound, true);
            $query.push(")");
        }
        if !$submissions.is_empty() {
            $query.push($part.open("s"));
            timelog::push_submissions!($query, $submissions);
            $query.push(")");
        }
        if !$entries.is_empty() {
            $query.push($part.open("e"));
            timelog::push_entries!($query, $entries);
            $query.push(")");
        }
        if !$outbox.is_empty() {
            $query.push($part.open("o"));
            outbox::push_rows!($query, $outbox, true, Backend::Postgres);
            $query.push(")");
            $query.push($part.open("r"));
            push_raw!($query, $outbox);
            $query.push(")");
        }
    };
}
use push_all;

/// Opens each table's `WITH` in one PostgreSQL statement.
struct Part {
    first: bool,
}

impl Part {
    fn new() -> Part {
        Part { first: true }
    }

    fn open(&mut self, name: &str) -> String {
        if std::mem::replace(&mut self.first, false) {
            format!("WITH {name} AS (")
        } else {
            format!(", {name} AS (")
        }
    }
}

impl Conn {
    /// From now on (`true`), the rows that may wait ([`inbound::record_new`], a submission, a
    /// receipt queued with `outbox::enqueue_new`) are kept and written together before the
    /// next statement; with `false`, what is kept is written and each row goes in as it comes
    /// again. For a transaction that writes many rows in a row, as the reader's slices do.
    pub async fn write_later(&mut self, on: bool) -> Result<(), sqlx::Error> {
        if on {
            self.later.get_or_insert_with(Default::default);
            return Ok(());
        }
        self.flush().await?;
        self.later = None;
        Ok(())
    }

    /// Writes the rows kept to be written later, if any, with every message (before a commit).
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        self.write_kept(true).await
    }

    /// The driver's connection, once the rows kept are written: what every statement runs on
    /// (see [`super::on!`]). Another statement may write a row of its own, so on SQLite the
    /// next ids are read again after it.
    #[doc(hidden)]
    pub async fn ready(&mut self) -> Result<Driver<'_>, sqlx::Error> {
        self.write_kept(false).await?;
        Ok(self.driver())
    }

    /// Writes the rows kept, if any ([`Later::write`]; `all`: every message too, waiting for
    /// those still being built), and forgets the next ids.
    async fn write_kept(&mut self, all: bool) -> Result<(), sqlx::Error> {
        let Conn { link, later } = self;
        if let Some(later) = later {
            later.write(super::driver_of(link), all).await?;
            later.next = None;
        }
        Ok(())
    }

    /// The driver's connection for a statement that reads nothing the rows kept would change
    /// (`unseen`), with the rows kept still kept; otherwise as [`Conn::ready`]: only for
    /// [`super::on_unkept!`].
    #[doc(hidden)]
    pub async fn ready_unless(&mut self, unseen: bool) -> Result<Driver<'_>, sqlx::Error> {
        if unseen {
            Ok(self.driver())
        } else {
            self.ready().await
        }
    }

    /// Whether rows are kept to be written later.
    pub fn writes_later(&self) -> bool {
        self.later.is_some()
    }

    /// The rows kept to be written later; `None` when each row is written as it comes.
    pub(super) fn later(&mut self) -> Option<&mut Later> {
        self.later.as_deref_mut()
    }

    /// The id of a new row of `table`, with the rows kept to keep it with (written first when
    /// a table's are as many as one statement takes); `None` when each row is written as it
    /// comes.
    pub(super) async fn later_id(
        &mut self,
        table: Table,
    ) -> Result<Option<(i64, &mut Later)>, sqlx::Error> {
        match &self.later {
            None => return Ok(None),
            Some(later) if later.full() => {
                self.ready().await?;
            }
            Some(_) => {}
        }
        let Conn {
            link,
            later: Some(later),
        } = self
        else {
            return Ok(None);
        };
        let at = table as usize;
        let id = match super::driver_of(link) {
            Driver::Sqlite(c) => {
                let next = match &mut later.next {
                    Some(next) => next,
                    None => {
                        let (i, s, o) = sqlx::query_as(
                            "SELECT (SELECT COALESCE(MAX(id), 0) + 1 FROM inbound_message), \
                             (SELECT COALESCE(MAX(id), 0) + 1 FROM submission), \
                             (SELECT COALESCE(MAX(id), 0) + 1 FROM outbox)",
                        )
                        .fetch_one(c)
                        .await?;
                        later.next.insert([i, s, o])
                    }
                };
                next[at] += 1;
                next[at] - 1
            }
            Driver::Postgres(c) => {
                if later.free[at].is_empty() {
                    let mut taken: Vec<i64> = sqlx::query_scalar(
                        "SELECT nextval(pg_get_serial_sequence($1, 'id')) \
                         FROM generate_series(1, $2)",
                    )
                    .bind(table.name())
                    .bind(IDS_AT_ONCE)
                    .fetch_all(c)
                    .await?;
                    taken.sort_unstable_by(|a, b| b.cmp(a));
                    later.free[at] = taken;
                }
                later.free[at].pop().ok_or(sqlx::Error::RowNotFound)?
            }
        };
        Ok(Some((id, later)))
    }
}

impl Later {
    pub fn inbound(&mut self, row: inbound::Row) {
        self.inbound.push(row);
    }

    pub fn submission(&mut self, row: timelog::LaterSubmission, entries: Vec<timelog::LaterEntry>) {
        self.submissions.push(row);
        self.entries.extend(entries);
    }

    /// Whether a row that follows `follows` must wait until the rows kept are written: its
    /// `after_id` is looked up in the table when it is written.
    pub fn follows_kept(&self, follows: &[String]) -> bool {
        self.outbox
            .iter()
            .any(|row| follows.contains(&row.message_id))
    }

    /// Whether an entry kept `matches`: a read of `time_entry` that no kept entry matches need
    /// not write them first.
    pub fn keeps_entry(&self, matches: impl Fn(&timelog::LaterEntry) -> bool) -> bool {
        self.entries.iter().any(matches)
    }

    pub fn outbox(&mut self, row: outbox::Row) {
        self.outbox.push(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lengths(n: usize) -> Vec<usize> {
        let rows = vec![(); n];
        pieces(&rows).map(<[()]>::len).collect()
    }

    #[test]
    fn rows_are_written_in_pieces_of_powers_of_two_up_to_the_cap() {
        assert!(lengths(0).is_empty());
        assert_eq!(lengths(1), [1]);
        assert_eq!(lengths(64), [64]);
        assert_eq!(lengths(63), [32, 16, 8, 4, 2, 1]);
        assert_eq!(lengths(PIECE * 2 + 3), [PIECE, PIECE, 2, 1]);
    }
}
