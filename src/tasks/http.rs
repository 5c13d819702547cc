//! The monitoring endpoint (`[http] listen`): `GET /healthz` (200 or 503, a JSON body naming
//! each part, when it last worked and its last error) and `GET /metrics` (Prometheus, in the
//! OpenMetrics text format). HTTP/1.1 only, through hyper.
//!
//! It must stay cheap and bounded whoever calls it: at most [`MAX_CONNECTIONS`] at once (more
//! are closed at once), a request's head read within [`HEAD_TIMEOUT`] and at most
//! [`MAX_HEAD_BYTES`], the body never read, one request per connection, and a whole exchange
//! within [`EXCHANGE_TIMEOUT`]. The database is read at most once per [`FRESH_FOR`] whatever
//! the number of scrapes, under [`READ_TIMEOUT`]; what a scrape shows otherwise comes from
//! memory. The listener is bound by the caller (so a port in use fails the start), and the
//! server stops with the daemon.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Semaphore};

use super::Shutdown;
use super::status::{self, Status};
use crate::clock::Clock;
use crate::config::Thresholds;
use crate::metrics::Metrics;
use crate::store::{self, Pool};

/// Connections served at once; one more is closed without an answer.
pub const MAX_CONNECTIONS: usize = 16;
/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a request head may be (hyper's smallest buffer).
pub const MAX_HEAD_BYTES: usize = 8192;
/// The longest one connection lives.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long facts read from the database serve scrapes before they are read again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);
/// How long reading the facts may take; a database that does not answer makes `/healthz` 503.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What the endpoint reads from: the database (through [`status::read`]), the counters, and
/// the thresholds in force (replaced on a config reload).
#[derive(Debug)]
pub struct Observer {
    pool: Pool,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    thresholds: RwLock<Thresholds>,
    /// The last facts read and when; one reader at a time.
    cached: Mutex<Option<(tokio::time::Instant, Result<Status, String>)>>,
}

impl Observer {
    pub fn new(
        pool: Pool,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        thresholds: Thresholds,
    ) -> Self {
        Self {
            pool,
            clock,
            metrics,
            thresholds: RwLock::new(thresholds),
            cached: Mutex::new(None),
        }
    }

    /// A reloaded config's thresholds.
    pub fn set_thresholds(&self, thresholds: Thresholds) {
        *self.thresholds.write().unwrap_or_else(|e| e.into_inner()) = thresholds;
    }

    /// The facts, read again when older than [`FRESH_FOR`]; the error when the database
    /// could not be read in time.
    pub async fn status(&self) -> Result<Status, String> {
        let mut cached = self.cached.lock().await;
        if let Some((at, status)) = cached.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return status.clone();
        }
        let thresholds = *self.thresholds.read().unwrap_or_else(|e| e.into_inner());
        let read = async {
            let mut conn = store::acquire(&self.pool).await?;
            status::read(&mut conn, thresholds, self.clock.now()).await
        };
        let status = match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(format!(
                "could not read the database: {:#}",
                anyhow::Error::from(e)
            )),
            Err(_) => Err(format!(
                "the database did not answer within {} s",
                READ_TIMEOUT.as_secs()
            )),
        };
        *cached = Some((tokio::time::Instant::now(), status.clone()));
        status
    }

    async fn healthz(&self) -> Response<Full<Bytes>> {
        let (code, body) = match self.status().await {
            Ok(status) => {
                let code = match status.healthy {
                    true => StatusCode::OK,
                    false => StatusCode::SERVICE_UNAVAILABLE,
                };
                let body = serde_json::json!({
                    "healthy": status.healthy,
                    "now": status.now,
                    "parts": status.parts,
                    "outbox": status.outbox,
                });
                (code, body)
            }
            Err(error) => (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "healthy": false, "error": error }),
            ),
        };
        let text = serde_json::to_string_pretty(&body).unwrap_or_default();
        respond(code, "application/json", text)
    }

    async fn metrics(&self) -> Response<Full<Bytes>> {
        let pool = self.pool.pool_use();
        let gauges = match self.status().await {
            Ok(status) => status.gauges(pool),
            // The counters still tell; the database's gauges are left out.
            Err(_) => crate::metrics::Gauges {
                pool_size: pool.0,
                pool_idle: pool.1,
                pool_max: pool.2,
                ..Default::default()
            },
        };
        respond(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            self.metrics.render(&gauges),
        )
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "GET only\n".into(),
            );
        }
        match request.uri().path() {
            "/healthz" => self.healthz().await,
            "/metrics" => self.metrics().await,
            _ => respond(
                StatusCode::NOT_FOUND,
                "text/plain",
                "try /healthz or /metrics\n".into(),
            ),
        }
    }
}

fn respond(code: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// Serves `listener` until shutdown; connections in progress are dropped then.
pub async fn serve(listener: TcpListener, observer: Arc<Observer>, mut shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.wait() => break,
            accepted = listener.accept() => accepted,
        };
        // Reap the finished ones, so the set stays as small as the connections open.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: pause rather than spin.
                tracing::warn!(error = %e, "the HTTP endpoint could not accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many HTTP connections; closing this one");
            continue;
        };
        let observer = observer.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |request| {
                let observer = observer.clone();
                async move { Ok::<_, Infallible>(observer.answer(request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(EXCHANGE_TIMEOUT, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "HTTP connection failed"),
                Err(_) => tracing::debug!(%peer, "HTTP connection timed out"),
            }
        });
    }
    connections.shutdown().await;
}
