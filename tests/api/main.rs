//! tandem's integration tests: one binary, one module per capability.
//!
//! - `helpers`: `spawn_app()` (a private tandem on temporary folders and database, with a
//!   manual clock), golden-file comparison, message builders.
//! - `auth_fixtures`: the golden corpus of real receivers' `Authentication-Results` headers
//!   under `tests/fixtures/auth`, forged ones among them, each with its sender verdict.
//! - `authentication`: sender authentication over a real Dovecot: with `require` a forged
//!   `From:` logs and answers nothing and goes to Attention with the reason, a trusted
//!   `dmarc=pass` is handled, forged survey answers store nothing, `--unauthenticated-ok`
//!   people are handled without a header; with `report`, the digest lists them.
//! - `cli`: the binary's commands: validation, clear errors, non-zero exits, nothing changed.
//! - `dates`: dates that cannot be right, refused: an agreement signed in the future, an
//!   engagement starting ten years ago or more than a year ahead; one running for years is
//!   entered active, with no trial and no welcome mails.
//! - `console`: the operator's console (issue 16): a closed stdout ends a command quietly,
//!   only `init` and `run` create or migrate a database (missing, foreign, old, newer ones
//!   named), `check` on a read-only `var/`, one contact address per client, and every
//!   option and argument of every `--help` described.
//! - `edits`: the console's missing commands (issue 16): `assistant show`/`client show`,
//!   editing people, contacts and engagements, pause/resume/activate/end with the closing
//!   mail, `hours restore`, `agreement reset`; each bad edit refused with the reason and
//!   nothing changed.
//! - `filed`: `quarantine list|show|release` and `attention list|show|done` on the Maildir:
//!   a released message is read afresh once its sender is known; wrong ids move nothing.
//! - `kickoff`: the kickoff call (issue 18): the invitation to each invitee once, in their
//!   language, its `.ics` read by the `icalendar` crate's parser (organiser, attendees, the
//!   VTIMEZONE, the agenda), an update with the same UID and a higher SEQUENCE; declines by
//!   iTIP reply and in words reaching the operator, an acceptance recorded without an alert;
//!   `engagement add --kickoff` through the binary.
//! - `onboarding`: `engagement add` and its welcome mails (content checked against golden files).
//! - `fixtures`: the golden corpus of `.eml` files under `tests/fixtures/hours`, read as
//!   `tandem parse --json` reads them.
//! - `hostile`: hostile, huge and broken mail, and mail whose handling fails: quarantined with
//!   a reason, never stopping the mail behind it; settling never replaces a file; a reused
//!   Message-ID gets its own row.
//! - `hours`: time logs by mail end to end: entries, receipt, cancel, export, lock; a locked
//!   month refuses void and cancel until unlocked; hours before the engagement's start,
//!   `morgen` and lines over 24 h rejected with their reasons.
//! - `import`: `tandem import FILE.csv`: all rows or none, faulty rows named, `--dry-run`,
//!   and a 5,000-row file with a progress bar on a terminal and nothing on a pipe.
//! - `inbound`: reading the Maildir exactly once, classification, where mail is moved.
//! - `imap`: reading over IMAP from a real Dovecot: exactly once, batches, a crash before the
//!   move, a deleted folder, a new UIDVALIDITY, an outage under the running reader, a server without MOVE or
//!   IDLE, TLS and STARTTLS (required, never optional), `check`; quarantined and attention
//!   mail shown, released and done on the server.
//! - `layers`: the shape of `src/` read from its imports: only the CLI imports the composition
//!   root, no module imports one that imports it back, no SQL driver outside the store, the
//!   pure modules import only pure ones and do no I/O.
//! - `service`: running it as a service (issue 17), on the binary: `/metrics` counts a pass
//!   over Dovecot and smtp-sink; `/healthz` 503 naming mail in while Dovecot is down, 200 once
//!   it is back; the watchdog pings stop while the outbox hangs on a FIFO; SIGHUP with a
//!   broken config keeps the old one; a backup taken under load passes `check`; `status`;
//!   `systemd-analyze verify` on the unit.
//! - `servers`: the real servers tests run against, private to the run (`Dovecot`, `Postgres`,
//!   and `Submission`, a Dovecot that takes SMTP submission over TLS and relays to a sink).
//! - `outbox`: delivery, retries with backoff, permanent failure, `outbox retry`; rows of a
//!   holder that is gone (its process, or its heartbeat) taken up before their lease; SQLite's
//!   sent journal: a fold cut off between its writes folds again to the same end, two folds at
//!   once mark each row once.
//! - `sink`: a private Postfix `smtp-sink` (a real SMTP server) for the tests that send.
//! - `smtp`: mail out over SMTP: delivery, 4xx retried until each message arrives once, 5xx
//!   failed with the server's answer, `tandem check`; over STARTTLS and implicit TLS to
//!   Dovecot's submission service, logged in, pooled and pipelined, each mail relayed once;
//!   to a certificate not trusted, neither mail nor password, each mail kept for a later try;
//!   to a TLS session whose server stops answering (SIGSTOP), the send given up after
//!   `send_timeout`, the next mail sent on a new session, the held one by its retry, once.
//! - `crash`: the daemon killed at random points while it reads hundreds of mails from
//!   Dovecot and answers through smtp-sink: nothing lost, nothing recorded twice.
//! - `daemons`: three daemons on one PostgreSQL database read one Dovecot INBOX of 1,000
//!   time-log mails, one SIGKILLed midway: each mail recorded, submitted and answered once.
//! - `dbfaults`: the database on a tiny filesystem that fills up and is grown, and locked by
//!   another connection past the busy timeout, under `tandem run`: no receipt doubled, the
//!   daemon goes on by itself, the outage is in `health`.
//! - `dbcopy`: `tandem db copy`: the walk-through's agency from SQLite to PostgreSQL and back,
//!   every command reading the same from each; a target not empty or a stale source refused
//!   with nothing written; new ids after the copy.
//! - `daemon`: `run` and `run --once`, stopped by a signal or an injected shutdown.
//! - `shutdown`: the binary stopped while a send hangs: SIGTERM within the send deadline, a
//!   second SIGINT at once; a row of a killed daemon sent by the next `run --once` at once and
//!   once, a live daemon's left alone.
//! - `digest`: the weekly digest on a seeded database: every figure against the data, both
//!   languages (text and HTML) against golden files, the mail with its inline chart, the CLI.
//! - `reply_fixtures`: the golden corpus under `tests/fixtures/replies` (survey answers
//!   numbered and inline, agreements signed and with a PDF, trial yes and no, each by each
//!   correlation path alone), read as `tandem parse --json` reads it.
//! - `reply_i18n`: the golden corpus under `tests/fixtures/replies-i18n`: replies in 16 other
//!   languages as their clients shape them (the new text, the cut, the answers), autoresponders
//!   without RFC 3834 headers, and the effects of the whole corpus in one daemon.
//! - `replies`: answers to surveys, the trial review and agreement reminders, end to end, by
//!   each correlation path alone; a token from another sender is not trusted.
//! - `timesheet`: the monthly timesheet on the injected clock: on the first working day (after
//!   a holiday when the 1st is one) with its CSV, once across restarts and two daemons;
//!   approval by each reply path (locking the month), a dispute alerting the operator, the one
//!   reminder, the digest lines, late hours refused; `tandem timesheet ...` and the preview.
//! - `schedule`: months on the injected clock: the preview is what the daemon sends, at the
//!   expected local times across DST, once across restarts, catch-up and two daemons;
//!   signing stops reminders; logged hours stop the nudge; a cadence changed between runs
//!   wakes the engagements the wake-ups had put to sleep.
//! - `checkin`: check-ins to the assistant on a moved clock: weekly in the trial, monthly
//!   after, as the preview says, once across restarts; answered numbered and inline, in part
//!   and to the reminder; a blocker and a low score alerting the operator; the digest's line.
//! - `feedback_talk`: the review call at the trial's end and quarterly, to the contacts and
//!   to the assistant, with the agenda from real survey and check-in answers, once per period.

mod auth_fixtures;
mod authentication;
mod budget;
mod checkin;
mod cli;
mod console;
mod crash;
mod daemon;
mod daemons;
mod dates;
mod dbcopy;
mod dbfaults;
mod digest;
mod edits;
mod feedback_talk;
mod filed;
mod fixtures;
mod helpers;
mod hostile;
mod hours;
mod imap;
mod import;
mod inbound;
mod kickoff;
mod layers;
mod onboarding;
mod outbox;
mod privacy;
mod replies;
mod reply_fixtures;
mod reply_i18n;
mod schedule;
mod servers;
mod service;
mod shutdown;
mod sink;
mod smtp;
mod timesheet;
