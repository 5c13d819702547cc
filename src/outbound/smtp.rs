//! The `smtp` transport: lettre's pooled tokio client. TLS implicit, STARTTLS (required, never
//! optional) or, only when the config says `tls = "none"`, none. A 4xx answer or a lost
//! connection is temporary (the worker retries); a 5xx answer is permanent and its text is
//! kept for the operator.

use lettre::address::{Address, Envelope as SmtpEnvelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};

use super::{Envelope, SendError, SendFuture, Transport};
use crate::config::{Smtp, TlsMode};
use crate::domain::EmailAddress;

pub struct SmtpTransport {
    client: AsyncSmtpTransport<Tokio1Executor>,
    /// The envelope sender (MAIL FROM): the agency's address, where bounces go.
    sender: Address,
    server: String,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("server", &self.server)
            .finish()
    }
}

impl SmtpTransport {
    /// Builds the client (nothing is connected until the first message).
    pub fn new(config: &Smtp, sender: &EmailAddress) -> Result<Self, String> {
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            mode => {
                let mut params = TlsParameters::builder(config.host.clone());
                if let Some(file) = &config.ca_file {
                    let pem = std::fs::read(file)
                        .map_err(|e| format!("outbound.smtp.ca_file '{}': {e}", file.display()))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| format!("outbound.smtp.ca_file '{}': {e}", file.display()))?;
                    params = params.add_root_certificate(cert);
                }
                let params = params.build_rustls().map_err(|e| e.to_string())?;
                match mode {
                    TlsMode::Implicit => Tls::Wrapper(params),
                    _ => Tls::Required(params),
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port())
            .tls(tls)
            .timeout(Some(config.timeout))
            .pool_config(PoolConfig::new().max_size(config.pool_size));
        if let Some((user, password)) = config.login().map_err(|e| e.to_string())? {
            builder = builder.credentials(Credentials::new(user, password.expose().to_string()));
        }
        let sender = sender
            .as_str()
            .parse()
            .map_err(|e| format!("sender {sender}: {e}"))?;
        Ok(Self {
            client: builder.build(),
            sender,
            server: format!("{}:{}", config.host, config.port()),
        })
    }
}

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
            self.client
                .send_raw(&smtp_envelope, envelope.raw)
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }

    fn describe(&self) -> String {
        format!("smtp: {}", self.server)
    }

    fn check<'a>(&'a self) -> SendFuture<'a> {
        Box::pin(async move {
            match self.client.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(SendError::Temporary(format!(
                    "{} did not answer as an SMTP server",
                    self.server
                ))),
                Err(e) => Err(classify(e)),
            }
        })
    }
}
