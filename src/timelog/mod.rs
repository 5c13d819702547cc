//! Time logs: what assistants email in as plain lines of text.
//!
//! `grammar` turns the text of a message into entries and rejected lines; it is pure (no I/O,
//! no clock: "today" comes in through its `Context`), so it is tested and fuzzed on its own.
//! `flow` resolves those lines against the assistant's engagements, stores them with the
//! message they came from and queues the receipt; it also voids a submission on `cancel`.
//! `nudge` reminds an assistant who has logged nothing for an engagement this week.
pub mod flow;
pub mod grammar;
pub mod nudge;
