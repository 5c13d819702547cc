//! TLS for the mail connections tandem opens itself (IMAP, and SMTP with TLS from the first
//! byte): rustls with the public roots plus the certificates of a `ca_file`.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// A client that trusts the public roots and every certificate in `ca_file`. `key` names the
/// setting in errors (`inbound.imap.ca_file`).
pub fn connector(ca_file: Option<&Path>, key: &str) -> Result<TlsConnector, String> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = ca_file {
        let bad = |reason: String| format!("{key} '{}': {reason}", file.display());
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(file).map_err(|e| bad(e.to_string()))? {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("holds no PEM certificate".into()));
        }
    }
    // ring explicitly: the one provider compiled in, whatever the process default.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
