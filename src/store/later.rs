//! Rows a transaction writes later ([`Conn::write_later`]): the reader's slices keep their
//! messages' rows (the inbound row, a time log's submission with its entries, its receipt) and
//! write them together, in multi-row `INSERT`s (on PostgreSQL in one round trip), before the
//! transaction's next statement or at its commit. So whatever the transaction reads, it reads
//! after them, as if each had been written as it came; a row that fails to be written fails
//! that next statement (the reader then does its slice again, a row at a time).
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
    /// one statement in one round trip, kept prepared ([`KEPT_ON_POSTGRES`]).
    async fn write(&mut self, driver: Driver<'_>) -> Result<(), sqlx::Error> {
        if self.is_empty() {
            return Ok(());
        }
        let Later {
            inbound,
            submissions,
            entries,
            outbox,
            ..
        } = self;
        match driver {
            Driver::Sqlite(c) => {
                // The rows go into the statements' arguments as they are, their texts and
                // messages not copied; taken first, so a failed write leaves none kept (its
                // transaction is undone, see the module's text).
                type Builder = sqlx::QueryBuilder<sqlx::Sqlite>;
                let mut outbox = std::mem::take(outbox);
                let raw: Vec<(i64, Vec<u8>)> = outbox
                    .iter_mut()
                    .map(|r| (r.id, std::mem::take(&mut r.raw)))
                    .collect();
                // Each table's rows in pieces, a statement each.
                macro_rules! in_pieces {
                    ($rows:expr, |$query:ident, $piece:ident| { $($push:tt)* }) => {
                        let mut rows = $rows.into_iter();
                        for len in pieces(rows.len()) {
                            let mut $query = Builder::new("");
                            let $piece = rows.by_ref().take(len);
                            $($push)*
                            $query.build().execute(&mut *c).await?;
                        }
                    };
                }
                in_pieces!(std::mem::take(inbound), |query, piece| {
                    inbound::push_rows!(query, piece, true);
                });
                in_pieces!(std::mem::take(submissions), |query, piece| {
                    timelog::push_submissions!(query, piece);
                });
                in_pieces!(std::mem::take(entries), |query, piece| {
                    timelog::push_entries!(query, piece);
                });
                in_pieces!(outbox, |query, piece| {
                    outbox::push_rows!(query, piece, true, Backend::Sqlite);
                });
                in_pieces!(raw, |query, piece| {
                    push_raw!(query, piece);
                });
            }
            Driver::Postgres(c) => {
                kept_on_postgres(inbound, submissions, entries, outbox)
                    .execute(c)
                    .await?;
            }
        }
        inbound.clear();
        submissions.clear();
        entries.clear();
        outbox.clear();
        Ok(())
    }
}

/// The lengths of the pieces `rows` rows are written in: powers of two up to [`PIECE`],
/// longest first, so the statements that write them are a few texts, whatever the number of
/// rows.
fn pieces(rows: usize) -> impl Iterator<Item = usize> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest == 0 {
            return None;
        }
        let len = 1 << rest.min(PIECE).ilog2();
        rest -= len;
        Some(len)
    })
}

/// Pushes the insert of the receipts' messages (`outbox_raw`) of `$rows` (owned outbox ids
/// with their messages).
macro_rules! push_raw {
    ($query:ident, $rows:expr) => {
        $query.push("INSERT INTO outbox_raw (outbox_id, raw) ");
        $query.push_values($rows, |mut row, (id, raw): (i64, Vec<u8>)| {
            row.push_bind(id).push_bind(raw);
        });
    };
}
use push_raw;

/// PostgreSQL: the rows kept, every table's, written by one statement, each table's insert a
/// data-modifying `WITH` in the order their references run, its rows an `UNNEST` of one array
/// a column. The text is the same whatever the rows (a table with none inserts nothing), so the
/// driver keeps it prepared: written afresh as `VALUES` lists, each of the ~40 statements of
/// 2,000 time logs was parsed and planned again (2.3 ms of planning each, of ~3,800
/// parameters).
const KEPT_ON_POSTGRES: &str = concat!(
    "WITH i AS (INSERT INTO inbound_message (id, dedupe_key, message_id, source, from_addr, \
     subject, sent_at, classification, reason, disposition, size_bytes, received_at, \
     content_hash, auth_verdict, authentication) \
     SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::bigint[], \
     $12::timestamptz[], $13::text[], $14::text[], $15::text[])), \
     s AS (INSERT INTO submission (id, inbound_id, assistant_id, status, created_at, \
     receipt_message_id) \
     SELECT v.id, v.inbound_id, v.assistant_id, 'logged', v.created_at, v.receipt_message_id \
     FROM UNNEST($16::bigint[], $17::bigint[], $18::bigint[], $19::timestamptz[], \
     $20::text[]) AS v (id, inbound_id, assistant_id, created_at, receipt_message_id)), \
     e AS (INSERT INTO time_entry (submission_id, engagement_id, work_date, minutes, \
     description, line_no, line_text, status, created_at) \
     SELECT v.submission_id, v.engagement_id, v.work_date, v.minutes, v.description, \
     v.line_no, v.line_text, 'logged', v.created_at \
     FROM UNNEST($21::bigint[], $22::bigint[], $23::date[], $24::bigint[], $25::text[], \
     $26::bigint[], $27::text[], $28::timestamptz[]) AS v (submission_id, engagement_id, \
     work_date, minutes, description, line_no, line_text, created_at)), \
     o AS (INSERT INTO outbox (id, natural_key, message_id, kind, engagement_id, recipient, \
     subject, token, survey_id, state, attempts, next_attempt_at, created_at, after_id) \
     SELECT v.id, v.natural_key, v.message_id, v.kind, v.engagement_id, v.recipient, \
     v.subject, v.token, v.survey_id, 'queued', 0, v.created_at, v.created_at, ",
    outbox::pg_follows!(),
    " FROM UNNEST($29::bigint[], $30::text[], $31::text[], $32::text[], $33::bigint[], \
     $34::text[], $35::text[], $36::text[], $37::bigint[], $38::timestamptz[], $39::text[]) \
     AS v (id, natural_key, message_id, kind, engagement_id, recipient, subject, token, \
     survey_id, created_at, follows)), \
     r AS (INSERT INTO outbox_raw (outbox_id, raw) \
     SELECT * FROM UNNEST($40::bigint[], $41::bytea[])) \
     SELECT 1",
);

/// [`KEPT_ON_POSTGRES`] with the columns of the rows kept bound, in its order.
fn kept_on_postgres<'a>(
    inbound: &'a [inbound::Row],
    submissions: &'a [timelog::LaterSubmission],
    entries: &'a [timelog::LaterEntry],
    outbox: &'a [outbox::Row],
) -> sqlx::query::Query<'a, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn column<'a, R, T>(rows: &'a [R], of: impl FnMut(&'a R) -> T) -> Vec<T> {
        rows.iter().map(of).collect()
    }
    sqlx::query(KEPT_ON_POSTGRES)
        .bind(column(inbound, |r| r.id))
        .bind(column(inbound, |r| &*r.dedupe_key))
        .bind(column(inbound, |r| r.message_id.as_deref()))
        .bind(column(inbound, |r| &*r.source))
        .bind(column(inbound, |r| r.from_addr.as_deref()))
        .bind(column(inbound, |r| r.subject.as_deref()))
        .bind(column(inbound, |r| r.sent_at))
        .bind(column(inbound, |r| r.classification))
        .bind(column(inbound, |r| &*r.reason))
        .bind(column(inbound, |r| r.disposition))
        .bind(column(inbound, |r| r.size_bytes))
        .bind(column(inbound, |r| r.received_at))
        .bind(column(inbound, |r| r.content_hash.as_deref()))
        .bind(column(inbound, |r| r.auth_verdict))
        .bind(column(inbound, |r| r.authentication.as_deref()))
        .bind(column(submissions, |s| s.id))
        .bind(column(submissions, |s| s.inbound_id))
        .bind(column(submissions, |s| s.assistant_id))
        .bind(column(submissions, |s| s.created_at))
        .bind(column(submissions, |s| s.receipt_message_id.as_deref()))
        .bind(column(entries, |e| e.submission_id))
        .bind(column(entries, |e| e.engagement_id))
        .bind(column(entries, |e| e.work_date))
        .bind(column(entries, |e| i64::from(e.minutes)))
        .bind(column(entries, |e| &*e.description))
        .bind(column(entries, |e| e.line_no as i64))
        .bind(column(entries, |e| &*e.line_text))
        .bind(column(entries, |e| e.created_at))
        .bind(column(outbox, |r| r.id))
        .bind(column(outbox, |r| &*r.natural_key))
        .bind(column(outbox, |r| &*r.message_id))
        .bind(column(outbox, |r| &*r.kind))
        .bind(column(outbox, |r| r.engagement_id))
        .bind(column(outbox, |r| &*r.recipient))
        .bind(column(outbox, |r| &*r.subject))
        .bind(column(outbox, |r| r.token.as_deref()))
        .bind(column(outbox, |r| r.survey_id))
        .bind(column(outbox, |r| r.created_at))
        .bind(column(outbox, |r| outbox::follows_list(&r.follows)))
        .bind(column(outbox, |r| r.id))
        .bind(column(outbox, |r| &r.raw[..]))
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

    /// Writes the rows kept to be written later, if any (before a commit).
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        self.write_kept().await
    }

    /// The driver's connection, once the rows kept are written: what every statement runs on
    /// (see [`super::on!`]). Another statement may write a row of its own, so on SQLite the
    /// next ids are read again after it.
    #[doc(hidden)]
    pub async fn ready(&mut self) -> Result<Driver<'_>, sqlx::Error> {
        self.write_kept().await?;
        Ok(self.driver())
    }

    /// Writes the rows kept, if any ([`Later::write`]), and forgets the next ids.
    async fn write_kept(&mut self) -> Result<(), sqlx::Error> {
        let Conn { link, later } = self;
        if let Some(later) = later {
            later.write(super::driver_of(link)).await?;
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
                    // The sequence is looked up once (`OFFSET 0` keeps the subquery apart):
                    // in each row's `nextval`, the lookup took nine tenths of the statement.
                    let mut taken: Vec<i64> = sqlx::query_scalar(
                        "SELECT nextval(q.s) FROM (SELECT \
                         pg_get_serial_sequence($1, 'id')::regclass AS s OFFSET 0) AS q, \
                         generate_series(1, $2)",
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
        pieces(n).collect()
    }

    #[test]
    fn rows_are_written_in_pieces_of_powers_of_two_up_to_the_cap() {
        assert!(lengths(0).is_empty());
        assert_eq!(lengths(1), [1]);
        assert_eq!(lengths(64), [64]);
        assert_eq!(lengths(63), [32, 16, 8, 4, 2, 1]);
        assert_eq!(lengths(PIECE * 2 + 3), [PIECE, PIECE, 2, 1]);
    }

    #[test]
    fn the_kept_rows_statement_on_postgresql_binds_each_of_its_parameters_once() {
        use sqlx::{Arguments as _, Execute as _};
        let mut query = kept_on_postgres(&[], &[], &[], &[]);
        let bound = query.take_arguments().unwrap().unwrap().len();
        assert_eq!(bound, 41);
        for n in 1..=bound {
            let cast = format!("${n}::");
            assert_eq!(KEPT_ON_POSTGRES.matches(&cast).count(), 1, "{cast}");
        }
        assert_eq!(KEPT_ON_POSTGRES.matches('$').count(), bound);
        assert_eq!(KEPT_ON_POSTGRES.matches("UNNEST(").count(), 5);
        assert!(KEPT_ON_POSTGRES.contains(outbox::pg_follows!()));
    }
}
