//! The IMAP mailbox: one session to the server, kept between steps and opened again when it
//! breaks (an I/O error, a BYE, a timeout: the next call reconnects; pauses between attempts are
//! the reader's business). TLS from the first byte, STARTTLS (refused if the server will not), or
//! none when the config says `tls = "none"`. Every command has `timeout` to answer.
//!
//! Reading: a fresh `SELECT` (the UIDVALIDITY and the message count as the server has them
//! now; within a drain, the count the session keeps, less what it moved, while that says more
//! is left), then `FETCH 1:N (UID RFC822.SIZE)` for the oldest N messages (no search over the whole
//! mailbox, so a backlog costs each step only its batch), then `UID FETCH (UID BODY.PEEK[])` of
//! those that fit the batch's bytes, and only the header (`BODY.PEEK[HEADER]`, its first
//! 64 KB) of a message over the size limit, which is never downloaded. A batch is all that is
//! ever held, and nothing is marked seen by reading. Settling: `UID MOVE` into the
//! folder for the disposition, or `UID COPY` + `\Deleted` + (`UID`) `EXPUNGE` on a server without
//! MOVE; processed mail is marked `\Seen` first, mail for a person stays unseen. Waiting: IDLE
//! until the server reports something, where the server offers it and `idle` is on; else a
//! plain pause (polling).
//!
//! A UID means a message only under its folder's UIDVALIDITY; `settle` moves a UID only while
//! the inbox has the UIDVALIDITY it was fetched under, so a recreated inbox never has the wrong
//! message moved: the message is read again and recognised by its Message-ID.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::error::Error as ImapError;
use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{Response, Status};
use async_imap::types::{Capabilities, UnsolicitedResponse};
use async_imap::{Client, Session};
use futures_util::{StreamExt as _, TryStreamExt as _};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{
    Batch, Fetched, Filed, InboundError, InboundFuture, Mailbox, Position, Recorded, header_of,
    too_large,
};
use crate::config::{Imap, TlsMode};
use crate::domain::Disposition;

/// The folders settled mail is moved into.
#[derive(Debug, Clone)]
pub struct Folders {
    pub processed: String,
    pub attention: String,
    pub quarantine: String,
}

/// Reads one IMAP folder. Cheap to build: nothing is connected before the first call.
pub struct ImapMailbox {
    config: Imap,
    folders: Folders,
    /// `host:port`, as every error names the server.
    server: String,
    /// `None` with `tls = "none"`; else webpki's roots plus `ca_file`.
    tls: Option<TlsConnector>,
    /// The name the server's certificate must carry: the configured host.
    server_name: ServerName<'static>,
    /// One session at a time; every call takes the lock for as long as it talks to the server
    /// (an IDLE too, so a call during it waits for the IDLE to end, at most `idle_renew`).
    state: Mutex<State>,
    /// Whether a session was opened before: each one after it is a reconnect, counted in
    /// `metrics`.
    connected_before: std::sync::atomic::AtomicBool,
    metrics: Option<crate::metrics::Metrics>,
}

impl std::fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("server", &self.server)
            .field("inbox", &self.config.inbox)
            .field("tls", &self.config.tls)
            .field("folders", &self.folders)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// The open session; `None` until the first call and after it broke.
    conn: Option<Conn>,
    /// The UIDVALIDITY the UIDs handed out by the last fetch belong to.
    fetched_under: Option<u32>,
}

struct Conn {
    session: Session<Stream>,
    caps: Caps,
    /// The inbox, once it is selected in this session.
    selected: Option<Selected>,
    /// The server announced mail (EXISTS) outside IDLE since the last search: the next wait
    /// returns at once instead of idling past it.
    new_mail: bool,
}

/// The inbox as a session has it selected.
#[derive(Debug, Clone, Copy)]
struct Selected {
    uidvalidity: u32,
    /// Its message count as the `SELECT` gave it, less the messages this session moved out of
    /// it since: never more than it holds, unless another client removed mail meanwhile (a
    /// `FETCH` past the end is refused, and the inbox is selected again); mail that came since
    /// may be left out. `None` once not known (after an IDLE, or a settle not by `MOVE`).
    count: Option<u32>,
}

/// What the server offers that changes what tandem does.
#[derive(Debug, Clone, Copy)]
struct Caps {
    idle: bool,
    moves: bool,
    uidplus: bool,
}

impl Caps {
    fn of(caps: &Capabilities) -> Self {
        Self {
            idle: caps.has_str("IDLE"),
            moves: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        }
    }
}

/// The connection under the session: plain TCP (before STARTTLS, or with `tls = "none"`) or TLS.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl ImapMailbox {
    /// Checks what can be checked without the server: the host as a TLS name and `ca_file`.
    pub fn new(config: &Imap, folders: Folders) -> Result<Self, InboundError> {
        let server_name = ServerName::try_from(config.host.clone()).map_err(|e| {
            InboundError::Setup(format!("inbound.imap.host '{}': {e}", config.host))
        })?;
        let tls = match config.tls {
            TlsMode::None => None,
            TlsMode::Implicit | TlsMode::Starttls => Some(
                crate::tls::connector(config.ca_file.as_deref(), "inbound.imap.ca_file")
                    .map_err(InboundError::Setup)?,
            ),
        };
        Ok(Self {
            server: format!("{}:{}", config.host, config.port()),
            config: config.clone(),
            folders,
            tls,
            server_name,
            state: Mutex::new(State::default()),
            connected_before: std::sync::atomic::AtomicBool::new(false),
            metrics: None,
        })
    }

    /// Counts reconnects in `metrics`.
    pub fn counting(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn folder(&self, disposition: Disposition) -> &str {
        match disposition {
            Disposition::Processed => &self.folders.processed,
            Disposition::Attention => &self.folders.attention,
            Disposition::Quarantine => &self.folders.quarantine,
        }
    }

    fn tls_label(&self) -> &'static str {
        match self.config.tls {
            TlsMode::Implicit => "TLS implicit",
            TlsMode::Starttls => "STARTTLS",
            TlsMode::None => "no TLS",
        }
    }

    /// An error of async-imap as tandem says it: a NO or BAD is the server refusing `what`
    /// (the session stays usable), anything else a failed connection.
    fn failure(&self, what: &str, error: ImapError) -> InboundError {
        match error {
            ImapError::No(text) | ImapError::Bad(text) => InboundError::Refused {
                server: self.server.clone(),
                what: what.to_string(),
                answer: server_answer(&text),
            },
            other => InboundError::Io {
                server: self.server.clone(),
                what: what.to_string(),
                source: Box::new(other),
            },
        }
    }

    fn timed_out(&self, what: &str) -> InboundError {
        InboundError::Timeout {
            server: self.server.clone(),
            what: what.to_string(),
            seconds: self.config.timeout.as_secs(),
        }
    }

    fn lost(&self, what: &str, why: &str) -> InboundError {
        InboundError::Io {
            server: self.server.clone(),
            what: what.to_string(),
            source: why.into(),
        }
    }

    /// One command, given `timeout` to complete.
    async fn timed<T>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, ImapError>>,
    ) -> Result<T, InboundError> {
        match tokio::time::timeout(self.config.timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.failure(what, e)),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    async fn handshake(&self, tcp: TcpStream) -> Result<Stream, InboundError> {
        let Some(tls) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        match tokio::time::timeout(
            self.config.timeout,
            tls.connect(self.server_name.clone(), tcp),
        )
        .await
        {
            Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
            Ok(Err(e)) => Err(InboundError::Connect {
                server: self.server.clone(),
                source: format!("TLS handshake: {e}").into(),
            }),
            Err(_) => Err(self.timed_out("the TLS handshake")),
        }
    }

    /// Reads the server's first line; a BYE there is a refusal.
    async fn greeting<T>(&self, client: &mut Client<T>) -> Result<(), InboundError>
    where
        T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    {
        let response = match tokio::time::timeout(self.config.timeout, client.read_response()).await
        {
            Ok(Ok(Some(response))) => response,
            Ok(Ok(None)) => {
                return Err(self.lost("the greeting", "the server closed the connection"));
            }
            Ok(Err(e)) => return Err(self.failure("the greeting", e.into())),
            Err(_) => return Err(self.timed_out("the greeting")),
        };
        match response.parsed() {
            Response::Data {
                status: Status::Ok | Status::PreAuth,
                ..
            } => Ok(()),
            Response::Data { outcome, .. } => Err(InboundError::Refused {
                server: self.server.clone(),
                what: "the connection".into(),
                answer: outcome.information.as_deref().unwrap_or("").to_string(),
            }),
            other => Err(self.lost("the greeting", &format!("unexpected {other:?}"))),
        }
    }

    /// Connects, secures the connection as configured, and logs in.
    async fn connect(&self) -> Result<Conn, InboundError> {
        let address = (self.config.host.as_str(), self.config.port());
        let tcp = match tokio::time::timeout(self.config.timeout, TcpStream::connect(address)).await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                return Err(InboundError::Connect {
                    server: self.server.clone(),
                    source: Box::new(e),
                });
            }
            Err(_) => return Err(self.timed_out("connecting")),
        };
        // Commands are small and answered one by one: do not wait to fill packets.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let client = match self.config.tls {
            TlsMode::Implicit => {
                let mut client = Client::new(self.handshake(tcp).await?);
                self.greeting(&mut client).await?;
                client
            }
            TlsMode::Starttls => {
                let mut client = Client::new(tcp);
                self.greeting(&mut client).await?;
                // A server that does not offer STARTTLS answers BAD or NO: refused, never
                // continued in plain text. Whatever the server sent after its OK is dropped
                // with the plain connection.
                self.timed(
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
                Client::new(self.handshake(client.into_inner()).await?)
            }
            TlsMode::None => {
                let mut client = Client::new(Stream::Plain(tcp));
                self.greeting(&mut client).await?;
                client
            }
        };
        let password = self
            .config
            .password()
            .map_err(|e| InboundError::Setup(e.to_string()))?;
        let what = format!("the login of '{}'", self.config.username);
        let login = client.login_with_capabilities(&self.config.username, password.expose());
        let (mut session, caps) = match tokio::time::timeout(self.config.timeout, login).await {
            Ok(Ok(logged_in)) => logged_in,
            Ok(Err((e, _client))) => return Err(self.failure(&what, e)),
            Err(_) => return Err(self.timed_out(&what)),
        };
        let caps = match caps {
            Some(caps) => caps,
            None => self.timed("CAPABILITY", session.capabilities()).await?,
        };
        let caps = Caps::of(&caps);
        tracing::debug!(server = self.server, ?caps, "logged in");
        Ok(Conn {
            session,
            caps,
            selected: None,
            new_mail: false,
        })
    }

    /// The open session, or a new one.
    async fn connection<'s>(
        &self,
        slot: &'s mut Option<Conn>,
    ) -> Result<&'s mut Conn, InboundError> {
        let conn = match slot.take() {
            Some(conn) => conn,
            None => {
                let conn = self.connect().await?;
                let again = self
                    .connected_before
                    .swap(true, std::sync::atomic::Ordering::Relaxed);
                if let (true, Some(metrics)) = (again, &self.metrics) {
                    metrics.imap_reconnected();
                }
                conn
            }
        };
        Ok(slot.insert(conn))
    }

    /// Selects the inbox unless it is selected; returns its UIDVALIDITY.
    async fn select(&self, conn: &mut Conn) -> Result<u32, InboundError> {
        match conn.selected {
            Some(selected) => Ok(selected.uidvalidity),
            None => Ok(self.reselect(conn).await?.0),
        }
    }

    /// Selects the inbox again: its UIDVALIDITY and message count as the server has them now.
    async fn reselect(&self, conn: &mut Conn) -> Result<(u32, u32), InboundError> {
        let what = format!("SELECT {}", self.config.inbox);
        let mailbox = self
            .timed(&what, conn.session.select(&self.config.inbox))
            .await?;
        let Some(uidvalidity) = mailbox.uid_validity else {
            return Err(self.lost(&what, "the server sent no UIDVALIDITY"));
        };
        if conn
            .selected
            .is_some_and(|before| before.uidvalidity != uidvalidity)
        {
            tracing::warn!(
                server = self.server,
                uidvalidity,
                "the inbox has a new UIDVALIDITY: its messages are read again and recognised"
            );
        }
        conn.selected = Some(Selected {
            uidvalidity,
            count: Some(mailbox.exists),
        });
        Ok((uidvalidity, mailbox.exists))
    }

    async fn prepare_in(&self, state: &mut State) -> Result<(), InboundError> {
        let conn = self.connection(&mut state.conn).await?;
        for folder in [
            &self.folders.processed,
            &self.folders.attention,
            &self.folders.quarantine,
        ] {
            let pattern = quoted(folder);
            let names = self
                .timed("LIST", async {
                    let names = conn.session.list(Some(""), Some(&pattern)).await?;
                    names.try_collect::<Vec<_>>().await
                })
                .await?;
            if names.iter().any(|n| n.name() == folder.as_str()) {
                continue;
            }
            self.create_folder(&mut conn.session, folder).await?;
        }
        self.select(conn).await?;
        Ok(())
    }

    /// Creates a folder; one that exists already (another reader was quicker) is fine.
    async fn create_folder(
        &self,
        session: &mut Session<Stream>,
        folder: &str,
    ) -> Result<(), InboundError> {
        match self
            .timed(&format!("CREATE {folder}"), session.create(folder))
            .await
        {
            Ok(()) => {
                tracing::info!(server = self.server, folder, "created the folder");
                Ok(())
            }
            Err(InboundError::Refused { answer, .. }) if already_exists(&answer) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn fetch_in(
        &self,
        state: &mut State,
        limits: Batch,
        skip: &BTreeSet<String>,
    ) -> Result<Vec<Fetched>, InboundError> {
        let conn = self.connection(&mut state.conn).await?;
        // Within a drain (messages to skip), the inbox is not selected again while the count
        // this session keeps says more is left (a `SELECT` costs the server a look at the
        // whole folder); the drain's last look, when that count says nothing is, selects it.
        let kept = conn
            .selected
            .filter(|s| !skip.is_empty() && state.fetched_under == Some(s.uidvalidity))
            .and_then(|s| Some((s.uidvalidity, s.count?)))
            .filter(|&(_, count)| usize::try_from(count).is_ok_and(|c| c > skip.len()));
        let mut sizes = Vec::new();
        if let Some((_, count)) = kept {
            // Another client removed mail: the count is past the end, and the server refuses
            // the FETCH (which async-imap ends as if it had found nothing).
            match self.oldest(conn, count, limits, skip).await {
                Ok(found) => sizes = found,
                Err(InboundError::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let uidvalidity = match kept {
            Some((uidvalidity, _)) if !sizes.is_empty() => uidvalidity,
            _ => {
                let (uidvalidity, exists) = self.reselect(conn).await?;
                absorb(conn);
                conn.new_mail = false;
                state.fetched_under = Some(uidvalidity);
                sizes = self.oldest(conn, exists, limits, skip).await?;
                if sizes.is_empty() {
                    return Ok(Vec::new());
                }
                uidvalidity
            }
        };
        let (mut whole, mut heads, mut held) = (Vec::new(), Vec::new(), 0u64);
        for &(uid, size) in &sizes {
            if size > limits.message_bytes {
                heads.push(uid);
            } else if whole.is_empty() || held.saturating_add(size) <= limits.bytes {
                held += size;
                whole.push(uid);
            } else {
                break;
            }
        }
        let mut batch = Vec::with_capacity(whole.len() + heads.len());
        for (uids, query, cut) in [
            (&whole, "(UID BODY.PEEK[])", false),
            (&heads, "(UID BODY.PEEK[HEADER]<0.65536>)", true),
        ] {
            if uids.is_empty() {
                continue;
            }
            self.fetch_each(conn, &uid_set(uids), query, true, |fetch| {
                let Some(uid) = fetch.uid.filter(|u| uids.binary_search(u).is_ok()) else {
                    return;
                };
                let size = sizes
                    .binary_search_by_key(&uid, |(u, _)| *u)
                    .map(|i| sizes[i].1)
                    .unwrap_or_default();
                let (raw, unread) = match cut {
                    false => match fetch.body() {
                        Some(body) => (body.to_vec(), None),
                        // Unsolicited FETCH answers (flag changes) carry no body.
                        None => return,
                    },
                    true => (
                        header_of(fetch.header().unwrap_or_default()).to_vec(),
                        Some(too_large(size, limits.message_bytes)),
                    ),
                };
                batch.push(Fetched {
                    id: uid.to_string(),
                    raw,
                    size,
                    unread,
                    position: Some(Position { uidvalidity, uid }),
                });
            })
            .await?;
        }
        // A UID missing here was moved by another reader between the two fetches.
        batch.sort_by_key(|f| f.position.map(|p| p.uid));
        batch.dedup_by_key(|f| f.position.map(|p| p.uid));
        Ok(batch)
    }

    /// The UIDs and sizes of the oldest messages of the `exists` in the inbox, leaving out
    /// those of `skip` (the oldest: fetched before, not yet moved), as many as `limits` take
    /// of what is left: what to read whole, and what not.
    async fn oldest(
        &self,
        conn: &mut Conn,
        exists: u32,
        limits: Batch,
        skip: &BTreeSet<String>,
    ) -> Result<Vec<(u32, u64)>, InboundError> {
        let left = usize::try_from(exists).map_or(usize::MAX, |n| n.saturating_sub(skip.len()));
        let take = limits.count_of(left);
        let wanted = take.saturating_add(skip.len());
        let count = exists.min(u32::try_from(wanted).unwrap_or(u32::MAX));
        let mut sizes: Vec<(u32, u64)> = Vec::new();
        if count == 0 {
            return Ok(sizes);
        }
        let set = format!("1:{count}");
        self.fetch_each(conn, &set, "(UID RFC822.SIZE)", false, |f| {
            if let (Some(uid), Some(size)) = (f.uid, f.size)
                && !skip.contains(&uid.to_string())
            {
                sizes.push((uid, u64::from(size)));
            }
        })
        .await?;
        sizes.sort_unstable();
        sizes.dedup_by_key(|(uid, _)| *uid);
        sizes.truncate(take);
        Ok(sizes)
    }

    /// Runs one FETCH (`UID FETCH` when `by_uid`) and hands each answer to `each` as it comes,
    /// so that only one answer's bytes are held twice. Each answer gets `timeout`, not the
    /// whole batch: a large batch on a slow line is no failure as long as the server keeps
    /// sending.
    async fn fetch_each(
        &self,
        conn: &mut Conn,
        set: &str,
        query: &str,
        by_uid: bool,
        mut each: impl FnMut(&async_imap::types::Fetch),
    ) -> Result<(), InboundError> {
        let what = if by_uid { "UID FETCH" } else { "FETCH" };
        let mut fetches = match by_uid {
            true => self
                .timed(what, conn.session.uid_fetch(set, query))
                .await?
                .boxed(),
            false => self
                .timed(what, conn.session.fetch(set, query))
                .await?
                .boxed(),
        };
        loop {
            match tokio::time::timeout(self.config.timeout, fetches.next()).await {
                Ok(Some(Ok(fetch))) => each(&fetch),
                Ok(Some(Err(e))) => return Err(self.failure(what, e)),
                Ok(None) => break,
                Err(_) => return Err(self.timed_out(what)),
            }
        }
        drop(fetches);
        absorb(conn);
        Ok(())
    }

    /// Moves the messages of `uids` (sorted, each once) to the folder for `disposition`.
    async fn settle_in(
        &self,
        state: &mut State,
        uids: &[u32],
        disposition: Disposition,
    ) -> Result<(), InboundError> {
        let folder = self.folder(disposition);
        let uid = uid_set(uids);
        let uid = uid.as_str();
        let conn = self.connection(&mut state.conn).await?;
        let uidvalidity = self.select(conn).await?;
        if state.fetched_under != Some(uidvalidity) {
            return Err(InboundError::Changed {
                server: self.server.clone(),
                detail: format!(
                    "{} has UIDVALIDITY {uidvalidity}, not the {} UID {uid} was read under; \
                     the message is left to be read again",
                    self.config.inbox,
                    state
                        .fetched_under
                        .map_or_else(|| "(none)".to_string(), |v| v.to_string()),
                ),
            });
        }
        let session = &mut conn.session;
        if disposition == Disposition::Processed {
            self.timed("UID STORE", async {
                let updates = session.uid_store(&uid, "+FLAGS.SILENT (\\Seen)").await?;
                updates.try_collect::<Vec<_>>().await
            })
            .await?;
        }
        // A UID no longer in the inbox is no error: MOVE, COPY, STORE and EXPUNGE of it do
        // nothing and answer OK.
        let what = if conn.caps.moves {
            format!("UID MOVE to {folder}")
        } else {
            format!("UID COPY to {folder}")
        };
        // Counted again once the move is done.
        let count = conn.selected.as_mut().and_then(|s| s.count.take());
        let mut created = false;
        loop {
            let result = if conn.caps.moves {
                self.timed(&what, session.uid_mv(uid, folder)).await
            } else {
                self.timed(&what, session.uid_copy(uid, folder)).await
            };
            match result {
                // The folder is gone (a person deleted it): made again, once.
                Err(InboundError::Refused { ref answer, .. })
                    if !created && answer.contains("TRYCREATE") =>
                {
                    self.create_folder(session, folder).await?;
                    created = true;
                }
                other => break other?,
            }
        }
        if conn.caps.moves {
            // Each UID was fetched from the inbox under this selection: gone from it now, by
            // this move or another client's.
            let moved = u32::try_from(uids.len()).unwrap_or(u32::MAX);
            if let Some(selected) = conn.selected.as_mut() {
                selected.count = count.map(|c| c.saturating_sub(moved));
            }
        } else {
            self.delete_uids(session, conn.caps.uidplus, uid).await?;
        }
        absorb(conn);
        tracing::debug!(
            uid,
            folder,
            how = if conn.caps.moves {
                "MOVE"
            } else {
                "COPY, EXPUNGE"
            },
            "settled"
        );
        Ok(())
    }

    /// The UIDs in `folder` of the message recorded as `recorded` (found by its Message-ID),
    /// with that folder selected. The inbox is selected afresh by the next inbox command.
    async fn find_in(
        &self,
        state: &mut State,
        folder: &str,
        recorded: Recorded<'_>,
    ) -> Result<Vec<u32>, InboundError> {
        let Some(message_id) = recorded.message_id else {
            return Err(InboundError::Unsupported(format!(
                "the message has no Message-ID, so it cannot be found in {folder} on {}: \
                 open the folder in a mail program",
                self.server
            )));
        };
        let conn = self.connection(&mut state.conn).await?;
        conn.selected = None;
        let what = format!("SELECT {folder}");
        self.timed(&what, conn.session.select(folder)).await?;
        let query = format!("HEADER Message-ID {}", quoted(message_id));
        let found = self
            .timed("UID SEARCH", conn.session.uid_search(&query))
            .await?;
        absorb(conn);
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    async fn filed_in(
        &self,
        state: &mut State,
        disposition: Disposition,
        recorded: Recorded<'_>,
    ) -> Result<Option<Vec<u8>>, InboundError> {
        let folder = self.folder(disposition).to_string();
        let uids = self.find_in(state, &folder, recorded).await?;
        let Some(first) = uids.first() else {
            return Ok(None);
        };
        let conn = self.connection(&mut state.conn).await?;
        let mut raw = None;
        self.fetch_each(conn, &first.to_string(), "BODY.PEEK[]", true, |fetch| {
            if raw.is_none() {
                raw = fetch.body().map(<[u8]>::to_vec);
            }
        })
        .await?;
        Ok(raw)
    }

    async fn refile_in(
        &self,
        state: &mut State,
        from: Disposition,
        recorded: Recorded<'_>,
        to: Option<Disposition>,
    ) -> Result<bool, InboundError> {
        let folder = self.folder(from).to_string();
        let uids = self.find_in(state, &folder, recorded).await?;
        if uids.is_empty() {
            return Ok(false);
        }
        let target = match to {
            None => self.config.inbox.clone(),
            Some(to) => self.folder(to).to_string(),
        };
        let conn = self.connection(&mut state.conn).await?;
        if !conn.caps.moves {
            return Err(InboundError::Unsupported(format!(
                "{} has no MOVE: move the message from {folder} to {target} with a mail program",
                self.server
            )));
        }
        let what = format!("UID MOVE to {target}");
        self.timed(&what, conn.session.uid_mv(uid_set(&uids), &target))
            .await?;
        absorb(conn);
        Ok(true)
    }

    /// Settles many messages with one command per folder (a MOVE per message would make the
    /// server rewrite its index once per message).
    async fn settle_set(&self, items: &[(String, Disposition)]) -> Result<(), InboundError> {
        let mut groups: Vec<(Disposition, Vec<u32>)> = Vec::new();
        for (id, disposition) in items {
            let uid: u32 = id.parse().map_err(|_| {
                InboundError::Setup(format!(
                    "'{id}' is not an IMAP UID (a message of another mailbox?)"
                ))
            })?;
            match groups.iter_mut().find(|(d, _)| d == disposition) {
                Some((_, uids)) => uids.push(uid),
                None => groups.push((*disposition, vec![uid])),
            }
        }
        let mut state = self.state.lock().await;
        for (disposition, uids) in groups {
            let mut uids = uids;
            uids.sort_unstable();
            uids.dedup();
            let reused = state.conn.is_some();
            let mut result = self.settle_in(&mut state, &uids, disposition).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.settle_in(&mut state, &uids, disposition).await;
            }
            self.keep_if_sound(&mut state, &result);
            result?;
        }
        Ok(())
    }

    /// The filed messages that name any of `needles`: the server searches each folder's
    /// headers and bodies (decoded), then the matches are fetched whole.
    async fn search_in(
        &self,
        state: &mut State,
        needles: &[String],
    ) -> Result<Vec<Filed>, InboundError> {
        let conn = self.connection(&mut state.conn).await?;
        let mut out = Vec::new();
        for disposition in [
            Disposition::Processed,
            Disposition::Attention,
            Disposition::Quarantine,
        ] {
            let folder = self.folder(disposition);
            // The inbox is selected again when next needed.
            conn.selected = None;
            self.timed(&format!("SELECT {folder}"), conn.session.select(folder))
                .await?;
            let mut uids = std::collections::BTreeSet::new();
            for needle in needles {
                let query = format!("CHARSET UTF-8 TEXT {}", quoted(needle));
                uids.extend(
                    self.timed("UID SEARCH", conn.session.uid_search(&query))
                        .await?,
                );
            }
            absorb(conn);
            if uids.is_empty() {
                continue;
            }
            let set = uid_set(&uids.into_iter().collect::<Vec<_>>());
            let mut fetched = Vec::new();
            self.fetch_each(conn, &set, "(UID BODY.PEEK[])", true, |fetch| {
                if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                    fetched.push((uid, body.to_vec()));
                }
            })
            .await?;
            out.extend(fetched.into_iter().map(|(uid, raw)| Filed {
                disposition,
                id: format!("{folder}/{uid}"),
                raw,
            }));
        }
        Ok(out)
    }

    /// The UIDs in the folder for `disposition` whose internal date is before `before`'s day.
    async fn before_in(
        &self,
        state: &mut State,
        disposition: Disposition,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Filed>, InboundError> {
        let conn = self.connection(&mut state.conn).await?;
        let folder = self.folder(disposition);
        conn.selected = None;
        self.timed(&format!("SELECT {folder}"), conn.session.select(folder))
            .await?;
        let query = format!("BEFORE {}", before.format("%-d-%b-%Y"));
        let mut uids: Vec<u32> = self
            .timed("UID SEARCH", conn.session.uid_search(&query))
            .await?
            .into_iter()
            .collect();
        absorb(conn);
        uids.sort_unstable();
        Ok(uids
            .into_iter()
            .map(|uid| Filed {
                disposition,
                id: format!("{folder}/{uid}"),
                raw: Vec::new(),
            })
            .collect())
    }

    /// Flags the UIDs of `set` in the selected folder deleted and expunges them (by UID with
    /// UIDPLUS; without it, `EXPUNGE` also removes whatever else is flagged deleted there).
    async fn delete_uids(
        &self,
        session: &mut Session<Stream>,
        uidplus: bool,
        set: &str,
    ) -> Result<(), InboundError> {
        self.timed("UID STORE", async {
            let updates = session.uid_store(set, "+FLAGS.SILENT (\\Deleted)").await?;
            updates.try_collect::<Vec<_>>().await
        })
        .await?;
        if uidplus {
            self.timed("UID EXPUNGE", async {
                let gone = session.uid_expunge(set).await?;
                gone.try_collect::<Vec<_>>().await
            })
            .await?;
        } else {
            self.timed("EXPUNGE", async {
                let gone = session.expunge().await?;
                gone.try_collect::<Vec<_>>().await
            })
            .await?;
        }
        Ok(())
    }

    /// Deletes filed messages, one STORE and one EXPUNGE per folder.
    async fn delete_in(&self, state: &mut State, filed: &[Filed]) -> Result<usize, InboundError> {
        let conn = self.connection(&mut state.conn).await?;
        let mut gone = 0;
        for disposition in [
            Disposition::Processed,
            Disposition::Attention,
            Disposition::Quarantine,
        ] {
            let folder = self.folder(disposition);
            let mut uids: Vec<u32> = filed
                .iter()
                .filter(|f| f.disposition == disposition)
                .filter_map(|f| f.id.rsplit_once('/').and_then(|(_, uid)| uid.parse().ok()))
                .collect();
            if uids.is_empty() {
                continue;
            }
            uids.sort_unstable();
            let set = uid_set(&uids);
            conn.selected = None;
            self.timed(&format!("SELECT {folder}"), conn.session.select(folder))
                .await?;
            self.delete_uids(&mut conn.session, conn.caps.uidplus, &set)
                .await?;
            absorb(conn);
            gone += uids.len();
        }
        Ok(gone)
    }

    /// IDLE on the open session for at most `limit`; the session is dropped on any failure.
    async fn idle(&self, state: &mut State, limit: Duration) -> Result<(), InboundError> {
        let Some(mut conn) = state.conn.take() else {
            return Ok(());
        };
        self.select(&mut conn).await?;
        let Conn {
            session,
            caps,
            selected,
            ..
        } = conn;
        let mut handle = session.idle();
        self.timed("IDLE", handle.init()).await?;
        let outcome = {
            // `_stop` ends the wait when dropped: it lives until the wait is over.
            let (wait, _stop) = handle.wait_with_timeout(limit);
            // The inner timeout restarts with every keep-alive the server sends; this one
            // does not.
            tokio::time::timeout(limit, wait).await
        };
        match outcome {
            Err(_) | Ok(Ok(IdleResponse::Timeout)) => {}
            Ok(Ok(IdleResponse::NewData(response))) => {
                if let Response::Data {
                    status: Status::Bye,
                    outcome,
                } = response.parsed()
                {
                    let why = format!(
                        "the server said BYE: {}",
                        outcome.information.as_deref().unwrap_or("")
                    );
                    return Err(self.lost("IDLE", &why));
                }
                tracing::debug!(server = self.server, "IDLE: the mailbox changed");
            }
            // The stop source is alive, so this means the stream ended: the server hung up.
            Ok(Ok(IdleResponse::ManualInterrupt)) => {
                return Err(self.lost("IDLE", "the server closed the connection"));
            }
            Ok(Err(e)) => return Err(self.failure("IDLE", e)),
        }
        let session = self.timed("DONE", handle.done()).await?;
        state.conn = Some(Conn {
            session,
            caps,
            // What came and went during the IDLE is not counted.
            selected: selected.map(|s| Selected { count: None, ..s }),
            new_mail: false,
        });
        Ok(())
    }

    /// Before trying an operation again: a session reused from an earlier call may have been
    /// closed by the server meanwhile (a restart, an idle timeout); when the operation failed
    /// on the connection, it is worth one more try on a new session.
    fn try_again<T>(
        &self,
        state: &mut State,
        reused: bool,
        result: &Result<T, InboundError>,
    ) -> bool {
        match result {
            Err(e @ InboundError::Io { .. }) if reused => {
                tracing::info!(
                    error = crate::error::error_chain(e),
                    "the IMAP session broke; reconnecting once"
                );
                state.conn = None;
                true
            }
            _ => false,
        }
    }

    /// After an operation: the session is dropped unless it worked or the server merely
    /// refused a command.
    fn keep_if_sound<T>(&self, state: &mut State, result: &Result<T, InboundError>) {
        if let Err(e) = result
            && !matches!(e, InboundError::Refused { .. })
            && state.conn.take().is_some()
        {
            tracing::debug!(
                server = self.server,
                error = crate::error::error_chain(e),
                "dropped the IMAP session"
            );
        }
    }
}

impl Mailbox for ImapMailbox {
    fn prepare(&self) -> InboundFuture<'_, ()> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.prepare_in(&mut state).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.prepare_in(&mut state).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }

    fn fetch_batch<'a>(
        &'a self,
        limits: Batch,
        skip: &'a BTreeSet<String>,
    ) -> InboundFuture<'a, Vec<Fetched>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.fetch_in(&mut state, limits, skip).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.fetch_in(&mut state, limits, skip).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }

    fn settle<'a>(&'a self, id: &'a str, disposition: Disposition) -> InboundFuture<'a, ()> {
        Box::pin(async move { self.settle_set(&[(id.to_string(), disposition)]).await })
    }

    fn settle_many<'a>(&'a self, items: &'a [(String, Disposition)]) -> InboundFuture<'a, ()> {
        Box::pin(async move { self.settle_set(items).await })
    }

    fn describe(&self) -> String {
        format!("imap: {}/{}", self.server, self.config.inbox)
    }

    fn filed<'a>(
        &'a self,
        disposition: Disposition,
        recorded: Recorded<'a>,
    ) -> InboundFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.filed_in(&mut state, disposition, recorded).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.filed_in(&mut state, disposition, recorded).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }

    fn refile<'a>(
        &'a self,
        from: Disposition,
        recorded: Recorded<'a>,
        to: Option<Disposition>,
    ) -> InboundFuture<'a, bool> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.refile_in(&mut state, from, recorded, to).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.refile_in(&mut state, from, recorded, to).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }

    fn wait(&self, max: Duration) -> InboundFuture<'_, ()> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            // IDLE only on a session that works; after a failure the reader's pause is kept and
            // its next read reconnects.
            let idle = match state.conn.as_mut() {
                Some(conn) if self.config.idle && conn.caps.idle => {
                    absorb(conn);
                    if conn.new_mail {
                        conn.new_mail = false;
                        return Ok(());
                    }
                    true
                }
                _ => false,
            };
            if !idle {
                drop(state);
                tokio::time::sleep(max).await;
                return Ok(());
            }
            let result = self.idle(&mut state, max.min(self.config.idle_renew)).await;
            if result.is_err() {
                state.conn = None;
            }
            result
        })
    }

    fn check(&self) -> InboundFuture<'_, String> {
        Box::pin(async move {
            let mut conn = self.connect().await?;
            let what = format!("EXAMINE {}", self.config.inbox);
            // EXAMINE: the inbox read-only, so checking changes nothing (not even \Recent).
            let mailbox = self
                .timed(&what, conn.session.examine(&self.config.inbox))
                .await?;
            if let Err(e) = self.timed("LOGOUT", conn.session.logout()).await {
                tracing::debug!(error = %e, "logout after the check failed");
            }
            let idle = match (conn.caps.idle, self.config.idle) {
                (true, true) => "IDLE supported",
                (true, false) => "IDLE supported but off (idle = false): polling",
                (false, _) => "no IDLE: polling",
            };
            let messages = match mailbox.exists {
                1 => "1 message".to_string(),
                n => format!("{n} messages"),
            };
            Ok(format!(
                "{} ({}), {messages}, {idle}",
                self.describe(),
                self.tls_label(),
            ))
        })
    }

    fn filed_mentioning<'a>(&'a self, needles: &'a [String]) -> InboundFuture<'a, Vec<Filed>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.search_in(&mut state, needles).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.search_in(&mut state, needles).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }

    fn filed_before(
        &self,
        disposition: Disposition,
        before: chrono::DateTime<chrono::Utc>,
    ) -> InboundFuture<'_, Vec<Filed>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.before_in(&mut state, disposition, before).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.before_in(&mut state, disposition, before).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }

    fn delete_filed<'a>(&'a self, filed: &'a [Filed]) -> InboundFuture<'a, usize> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let reused = state.conn.is_some();
            let mut result = self.delete_in(&mut state, filed).await;
            if self.try_again(&mut state, reused, &result) {
                result = self.delete_in(&mut state, filed).await;
            }
            self.keep_if_sound(&mut state, &result);
            result
        })
    }
}

/// Takes what the server said between commands: an EXISTS means new mail. Should the queue
/// have filled up (async-imap keeps 100 and drops the rest), an EXISTS may be lost, so new
/// mail is assumed.
fn absorb(conn: &mut Conn) {
    let receiver = &conn.session.unsolicited_responses;
    if receiver.is_full() {
        conn.new_mail = true;
    }
    while let Ok(response) = receiver.try_recv() {
        if matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        ) {
            conn.new_mail = true;
        }
    }
}

/// The trusted roots: webpki's, plus every certificate in `ca_file`.
/// A sorted list of UIDs as an IMAP set, runs as ranges: `1:3,7,9:10`.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// A folder name as an IMAP quoted string.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The server's words in async-imap's rendering of a NO or BAD (`code: Some(..), info:
/// Some("...")`): the response code in brackets, then the text, as the server sent them.
fn server_answer(text: &str) -> String {
    let info = text
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .map(|info| info.replace("\\\"", "\""));
    let code = text
        .strip_prefix("code: Some(")
        .and_then(|rest| rest.split_once("), info: "))
        .map(|(code, _)| code.to_uppercase());
    match (code, info) {
        (Some(code), Some(info)) => format!("[{code}] {info}"),
        (None, Some(info)) => info,
        _ => text.to_string(),
    }
}

fn already_exists(answer: &str) -> bool {
    let answer = answer.to_ascii_lowercase();
    answer.contains("alreadyexists") || answer.contains("already exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_join_runs_into_ranges() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[4294967294, 4294967295]), "4294967294:4294967295");
    }

    #[test]
    fn the_servers_words_are_kept_without_async_imaps_rendering() {
        assert_eq!(
            server_answer(r#"code: None, info: Some("Authentication failed.")"#),
            "Authentication failed."
        );
        assert_eq!(server_answer("something else"), "something else");
        assert!(already_exists("[ALREADYEXISTS] Mailbox already exists"));
        assert!(!already_exists("[TRYCREATE] Mailbox doesn't exist: Nope"));
    }

    #[test]
    fn folder_names_are_quoted() {
        assert_eq!(quoted("Processed"), "\"Processed\"");
        assert_eq!(quoted(r#"a "b"\c"#), r#""a \"b\"\\c""#);
    }
}
