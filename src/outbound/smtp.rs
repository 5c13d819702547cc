//! The `smtp` transport: lettre's SMTP client on connections tandem opens itself, so that every
//! one has `TCP_NODELAY` (lettre's own connector leaves Nagle on, and the five bytes of the
//! final `.` then wait for the server's delayed ACK: 40 ms a mail), kept in a pool of up to
//! `pool_size` for reuse. TLS implicit, STARTTLS (required, never optional) or, only when the
//! config says `tls = "none"`, none. Connecting, the greeting, EHLO and AUTH each have
//! `timeout`; the whole of one send has `send_timeout`, so a server that stops answering never
//! holds the worker. A 4xx answer, a lost connection or a deadline passed is temporary (the
//! worker retries); a 5xx answer is permanent and its text is kept for the operator.
//!
//! Where the server offers PIPELINING (RFC 2920), a send writes `MAIL FROM`, each `RCPT TO`
//! and `DATA` at once and then reads their answers, in order: two round trips a mail instead
//! of four (lettre writes each command and waits for its answer). Any answer that is not
//! positive ends the session, unread answers and all, as lettre's own send does, so no
//! message is sent after a refused command.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::{Address, Envelope as SmtpEnvelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{Envelope, SendError, SendFuture, Transport};
use crate::config::{Smtp, TlsMode};
use crate::domain::EmailAddress;

/// How the session is protected.
enum Security {
    None,
    /// STARTTLS after the greeting, with lettre's TLS parameters.
    Starttls(TlsParameters),
    /// TLS from the first byte.
    Implicit(TlsConnector, ServerName<'static>),
}

pub struct SmtpTransport {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// For connecting, the greeting, EHLO, STARTTLS and AUTH, each.
    timeout: Duration,
    /// For the whole of one send.
    send_timeout: Duration,
    /// The envelope sender (MAIL FROM): the agency's address, where bounces go.
    sender: Address,
    server: String,
    pool_size: usize,
    /// Open sessions not in use, each with when it was last used.
    idle: Mutex<Vec<(Session, std::time::Instant)>>,
}

/// An open SMTP session, and whether its server takes pipelined commands.
struct Session {
    conn: AsyncSmtpConnection,
    pipelining: bool,
}

/// `MAIL FROM`, the `RCPT TO`s and `DATA` of one mail, written at once (each command's text,
/// as lettre writes it, ends with its CRLF).
struct Pipelined {
    mail: Mail,
    rcpts: Vec<Rcpt>,
}

impl std::fmt::Display for Pipelined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.mail)?;
        for rcpt in &self.rcpts {
            write!(f, "{rcpt}")?;
        }
        write!(f, "{Data}")
    }
}

/// Whether an EHLO answer names PIPELINING among its keywords (one a line, the first word).
fn offers_pipelining(ehlo: &Response) -> bool {
    ehlo.message().skip(1).any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case("PIPELINING"))
    })
}

/// Sends `raw` to `envelope`'s recipients on `conn`, its commands pipelined: what lettre's
/// `AsyncSmtpConnection::send` does (with its SMTPUTF8 and 8BITMIME parameters), in two round
/// trips. On an answer that is not positive the session is spoiled (answers unread, or a
/// `DATA` the server may have taken): the caller drops it.
async fn send_pipelined(
    conn: &mut AsyncSmtpConnection,
    envelope: &SmtpEnvelope,
    raw: &[u8],
) -> Result<Response, Refused> {
    let info = conn.server_info();
    let mut parameters = Vec::new();
    let non_ascii = |address: &Address| !AsRef::<str>::as_ref(address).is_ascii();
    if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
        if !info.supports_feature(Extension::SmtpUtfEight) {
            return Err(Refused::Client(
                "the envelope has non-ASCII addresses and the server does not take SMTPUTF8",
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() {
        if !info.supports_feature(Extension::EightBitMime) {
            return Err(Refused::Client(
                "the message is not ASCII and the server does not take 8BITMIME",
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let commands = Pipelined {
        mail: Mail::new(envelope.from().cloned(), parameters),
        rcpts: envelope
            .to()
            .iter()
            .map(|to| Rcpt::new(to.clone(), Vec::new()))
            .collect(),
    };
    let answers = commands.rcpts.len() + 1;
    // Writes them all, reads the answer to MAIL FROM; then each RCPT TO's and DATA's.
    conn.command(&commands).await?;
    for _ in 0..answers {
        conn.read_response().await?;
    }
    match std::str::from_utf8(raw) {
        Ok(text) => Ok(conn.command(Content(text)).await?),
        Err(_) => Ok(conn.message(raw).await?),
    }
}

/// A mail's content as `DATA` carries it (RFC 5321, 4.5.2): each `.` that starts a line
/// doubled (a line starts where the text does and after each CRLF, as in lettre's codec),
/// then `CRLF . CRLF`, written at once. lettre's `message` copies the text into a new buffer
/// a byte at a time to double the dots; a message that is no UTF-8 still goes that way.
struct Content<'a>(&'a str);

impl std::fmt::Display for Content<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0;
        if text.starts_with('.') {
            f.write_str(".")?;
        }
        let mut from = 0;
        for at in memchr::memmem::find_iter(text.as_bytes(), b"\r\n.") {
            f.write_str(&text[from..at + 3])?;
            f.write_str(".")?;
            from = at + 3;
        }
        f.write_str(&text[from..])?;
        f.write_str("\r\n.\r\n")
    }
}

/// Why a send did not go through: the server's answer (or the connection's failure), or a
/// message the server cannot take.
#[derive(Debug)]
enum Refused {
    Smtp(lettre::transport::smtp::Error),
    Client(&'static str),
}

impl From<lettre::transport::smtp::Error> for Refused {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Refused::Smtp(e)
    }
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("server", &self.server)
            .finish()
    }
}

/// A TLS session on a TCP stream, as lettre takes a stream opened by someone else.
#[derive(Debug)]
struct Tls(TlsStream<TcpStream>);

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// A session's stream whose writes wait in memory until the client reads (or shuts the
/// stream down, or [`COALESCE`] bytes wait): lettre writes a message and its final `.` apart,
/// each flushed, which made two segments and two wake-ups of the server a mail. Every SMTP
/// command is answered, and the client reads the answer before it goes on, so nothing waits
/// longer than it would have; a flush only marks the end of what the next read sends.
#[derive(Debug)]
struct Coalesced<S> {
    inner: S,
    /// Written and not sent yet; sent from `sent` on.
    out: Vec<u8>,
    sent: usize,
}

/// Bytes that wait for a read at most: a larger message goes out as it is written.
const COALESCE: usize = 64 * 1024;

impl<S: AsyncWrite + Unpin> Coalesced<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            out: Vec::new(),
            sent: 0,
        }
    }

    /// Sends what waits, then flushes the stream beneath.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.sent < self.out.len() {
            let n = std::task::ready!(
                Pin::new(&mut self.inner).poll_write(cx, &self.out[self.sent..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.out.clear();
        self.sent = 0;
        Pin::new(&mut self.inner).poll_flush(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Coalesced<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_send(cx))?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesced<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.out.len() >= COALESCE {
            std::task::ready!(self.poll_send(cx))?;
        }
        self.out.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // Sent by the next read.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_send(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncTokioStream> AsyncTokioStream for Coalesced<S> {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.peer_addr()
    }
}

impl SmtpTransport {
    /// Builds the client (nothing is connected until the first message).
    pub fn new(config: &Smtp, sender: &EmailAddress) -> Result<Self, String> {
        let security = match config.tls {
            TlsMode::None => Security::None,
            TlsMode::Implicit => Security::Implicit(
                crate::tls::connector(config.ca_file.as_deref(), "outbound.smtp.ca_file")?,
                ServerName::try_from(config.host.clone())
                    .map_err(|e| format!("outbound.smtp.host '{}': {e}", config.host))?,
            ),
            TlsMode::Starttls => {
                let mut params = TlsParameters::builder(config.host.clone());
                if let Some(file) = &config.ca_file {
                    let pem = std::fs::read(file)
                        .map_err(|e| format!("outbound.smtp.ca_file '{}': {e}", file.display()))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| format!("outbound.smtp.ca_file '{}': {e}", file.display()))?;
                    params = params.add_root_certificate(cert);
                }
                Security::Starttls(params.build_rustls().map_err(|e| e.to_string())?)
            }
        };
        let credentials = config
            .login()
            .map_err(|e| e.to_string())?
            .map(|(user, password)| Credentials::new(user, password.expose().to_string()));
        let sender = sender
            .as_str()
            .parse()
            .map_err(|e| format!("sender {sender}: {e}"))?;
        Ok(Self {
            host: config.host.clone(),
            port: config.port(),
            security,
            credentials,
            hello: ClientId::default(),
            timeout: config.timeout,
            send_timeout: config.send_timeout,
            sender,
            server: format!("{}:{}", config.host, config.port()),
            pool_size: config.pool_size as usize,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// A new session: TCP (with `TCP_NODELAY`), TLS as configured, the greeting, EHLO, AUTH.
    /// lettre keeps of the EHLO answer only the extensions it uses, so a second EHLO (before
    /// AUTH, on the protected session) says whether the server takes PIPELINING.
    async fn connect(&self) -> Result<Session, SendError> {
        let step = |what: &'static str| {
            let server = self.server.clone();
            move |e: String| SendError::Temporary(format!("{server}: {what}: {e}"))
        };
        let timed = |what: &'static str| {
            let server = self.server.clone();
            let seconds = self.timeout.as_secs();
            move |_| {
                SendError::Temporary(format!("{server}: no answer to {what} within {seconds} s"))
            }
        };
        let tcp = tokio::time::timeout(
            self.timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(timed("connect"))?
        .map_err(|e| step("connect")(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| step("TCP_NODELAY")(e.to_string()))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.security {
            Security::Implicit(connector, name) => {
                let tls = tokio::time::timeout(self.timeout, connector.connect(name.clone(), tcp))
                    .await
                    .map_err(timed("the TLS handshake"))?
                    .map_err(|e| step("TLS")(e.to_string()))?;
                Box::new(Coalesced::new(Tls(tls)))
            }
            Security::None | Security::Starttls(_) => Box::new(Coalesced::new(tcp)),
        };
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
        )
        .await
        .map_err(timed("the greeting"))?
        .map_err(classify)?;
        if let Security::Starttls(params) = &self.security {
            tokio::time::timeout(self.timeout, conn.starttls(params.clone(), &self.hello))
                .await
                .map_err(timed("STARTTLS"))?
                .map_err(classify)?;
        }
        let ehlo = tokio::time::timeout(self.timeout, conn.command(Ehlo::new(self.hello.clone())))
            .await
            .map_err(timed("EHLO"))?
            .map_err(classify)?;
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(
                self.timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(timed("AUTH"))?
            .map_err(classify)?;
        }
        Ok(Session {
            conn,
            pipelining: offers_pipelining(&ehlo),
        })
    }

    /// A connection from the pool, or a new one, and whether it is reused untested. Servers
    /// close idle sessions, and a send on a closed one would only fail and wait for a retry:
    /// one idle for more than [`FRESH`] must answer `NOOP` first. One used within it is taken
    /// as it is (the `NOOP` was a fifth round trip in each send); should it turn out closed,
    /// [`Self::deliver`] sends once more on a new one.
    async fn connection(&self) -> Result<(Session, bool), SendError> {
        loop {
            let Some((mut session, used)) = self.idle.lock().await.pop() else {
                return Ok((self.connect().await?, false));
            };
            if session.conn.has_broken() {
                continue;
            }
            if used.elapsed() < FRESH {
                return Ok((session, true));
            }
            if tokio::time::timeout(self.timeout, session.conn.test_connected())
                .await
                .unwrap_or(false)
            {
                return Ok((session, false));
            }
        }
    }

    /// One send, without a deadline (the caller has it).
    async fn deliver(&self, envelope: &SmtpEnvelope, raw: &[u8]) -> Result<(), SendError> {
        let (mut session, untested) = self.connection().await?;
        let mut sent = send_on(&mut session, envelope, raw).await;
        if let Err(Refused::Smtp(e)) = &sent
            && untested
            && e.status().is_none()
        {
            // The session was closed while it sat in the pool (no answer with a code came):
            // a new one. Had the server taken the mail before it went, this sends it twice,
            // as the retry after a temporary failure would.
            session = self.connect().await?;
            sent = send_on(&mut session, envelope, raw).await;
        }
        match sent {
            Ok(_) => {
                let mut idle = self.idle.lock().await;
                if !session.conn.has_broken() && idle.len() < self.pool_size {
                    idle.push((session, std::time::Instant::now()));
                }
                Ok(())
            }
            Err(Refused::Smtp(e)) => Err(classify(e)),
            Err(Refused::Client(why)) => {
                Err(SendError::Permanent(format!("{}: {why}", self.server)))
            }
        }
    }
}

/// One mail on `session`, pipelined where its server takes that. A session whose send failed
/// is not used again.
async fn send_on(
    session: &mut Session,
    envelope: &SmtpEnvelope,
    raw: &[u8],
) -> Result<Response, Refused> {
    if !session.pipelining {
        return Ok(session.conn.send(envelope, raw).await?);
    }
    let sent = send_pipelined(&mut session.conn, envelope, raw).await;
    if sent.is_err() {
        // QUIT (its answer may be one left unread), then the connection is closed.
        session.conn.abort().await;
    }
    sent
}

/// How long a pooled session may have been idle and still be used without a `NOOP`.
const FRESH: Duration = Duration::from_secs(1);

/// Sorts lettre's errors: 5xx answers are permanent, everything else (4xx, lost connections,
/// timeouts, TLS trouble that a restart of the server may cure) is temporary.
fn classify(error: lettre::transport::smtp::Error) -> SendError {
    let text = match error.status() {
        Some(code) => format!("{code} {error}"),
        None => format!("{error}"),
    };
    if error.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}

impl Transport for SmtpTransport {
    fn send<'a>(&'a self, envelope: &'a Envelope<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let recipients = envelope
                .recipient
                .split(',')
                .map(|r| r.trim().parse::<Address>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    SendError::Permanent(format!("recipient {}: {e}", envelope.recipient))
                })?;
            let smtp_envelope = SmtpEnvelope::new(Some(self.sender.clone()), recipients)
                .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
            // On the deadline the session is dropped (closed) with the send: the message is
            // retried later on a new one.
            tokio::time::timeout(
                self.send_timeout,
                self.deliver(&smtp_envelope, envelope.raw),
            )
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Temporary(format!(
                    "{}: the send did not finish within {} s",
                    self.server,
                    self.send_timeout.as_secs()
                )))
            })
        })
    }

    fn describe(&self) -> String {
        format!("smtp: {}", self.server)
    }

    fn parallel(&self) -> usize {
        self.pool_size.max(1)
    }

    fn check<'a>(&'a self) -> SendFuture<'a> {
        Box::pin(async move {
            let mut session = self.connect().await?;
            let _ = tokio::time::timeout(self.timeout, session.conn.quit()).await;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn ehlo(text: &str) -> Response {
        Response::from_str(text).unwrap()
    }

    #[test]
    fn pipelining_is_read_from_the_ehlo_keywords_only() {
        assert!(offers_pipelining(&ehlo(
            "250-mx.example\r\n250-SIZE 10240000\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        )));
        assert!(offers_pipelining(&ehlo(
            "250-mx.example\r\n250 pipelining\r\n"
        )));
        for text in [
            "250-mx.example\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
            // The server's name, not a keyword.
            "250-PIPELINING\r\n250 8BITMIME\r\n",
            "250-mx.example\r\n250 XPIPELINING\r\n",
            "250 mx.example\r\n",
        ] {
            assert!(!offers_pipelining(&ehlo(text)), "{text:?}");
        }
    }

    #[test]
    fn content_doubles_each_dot_that_starts_a_line_then_ends_the_data() {
        let content = |text: &str| Content(text).to_string();
        // A line starts where the text does and after each CRLF (not after a bare LF or CR).
        assert_eq!(
            content(".a\r\n.b\r\nc.d\n.e\r.f\r\r\n.g\r\n."),
            "..a\r\n..b\r\nc.d\n.e\r.f\r\r\n..g\r\n..\r\n.\r\n"
        );
        assert_eq!(content(""), "\r\n.\r\n");
        assert_eq!(content("ä\r\n.ü\r\n"), "ä\r\n..ü\r\n\r\n.\r\n");
    }

    #[test]
    fn the_pipelined_commands_are_lettres_one_after_the_other() {
        let to = |a: &str| Rcpt::new(a.parse().unwrap(), Vec::new());
        let commands = Pipelined {
            mail: Mail::new(Some("team@agency.example".parse().unwrap()), Vec::new()),
            rcpts: vec![to("a@client.example"), to("b@client.example")],
        };
        assert_eq!(
            commands.to_string(),
            "MAIL FROM:<team@agency.example>\r\nRCPT TO:<a@client.example>\r\n\
             RCPT TO:<b@client.example>\r\nDATA\r\n"
        );
    }
}
