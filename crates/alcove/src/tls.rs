//! TLS on the main listener (`--tls-cert`, `--tls-key`).
//!
//! The certificate chain and key are read here rather than by the server library so that a
//! bad file is reported for what it is (no certificate in it, no key, a key that does not
//! belong to the certificate) before the server starts, and so that a reload can check the
//! new pair completely before it replaces the old one. The protocol list offered by ALPN is
//! HTTP/2 then HTTP/1.1; clients that speak only HTTP/1.1 (most AWS SDKs) get that.
//!
//! SIGHUP re-reads both files from the same paths. Connections already open keep the
//! certificate they were set up with; new ones get the new certificate. A pair that fails
//! to load leaves the old one in place, and the error is logged.

use std::path::PathBuf;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Where the certificate chain and its private key are read from (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} is not a valid PEM certificate file: {reason}", path.display())]
    BadCertificate { path: PathBuf, reason: String },
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("the key in {} does not fit the certificate in {}: {reason}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf, reason: String },
}

impl TlsFiles {
    /// Reads and checks the pair, and builds the server side of TLS from it.
    pub fn load(&self) -> Result<ServerConfig, TlsError> {
        let cert_pem =
            std::fs::read(&self.cert).map_err(|source| TlsError::Read { path: self.cert.clone(), source })?;
        let key_pem =
            std::fs::read(&self.key).map_err(|source| TlsError::Read { path: self.key.clone(), source })?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::BadCertificate { path: self.cert.clone(), reason: e.to_string() })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate { path: self.cert.clone() });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| TlsError::BadKey { path: self.key.clone(), reason: e.to_string() })?;
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Mismatch {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                    reason: e.to_string(),
                })?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|e| TlsError::Mismatch {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                    reason: e.to_string(),
                })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Re-reads the pair on every SIGHUP for as long as the server runs.
pub async fn reload_on_sighup(files: TlsFiles, config: RustlsConfig) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    while hangup.recv().await.is_some() {
        reload(&files, &config).await;
    }
    Ok(())
}

async fn reload(files: &TlsFiles, config: &RustlsConfig) {
    let pair = files.clone();
    match tokio::task::spawn_blocking(move || pair.load()).await {
        Ok(Ok(loaded)) => {
            config.reload_from_config(Arc::new(loaded));
            tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot reload the TLS certificate; the previous one stays in use");
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot reload the TLS certificate; the previous one stays in use");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        let pair = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
        std::fs::write(&pair.cert, cert).unwrap();
        std::fs::write(&pair.key, key).unwrap();
        pair
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let pair = TlsFiles { cert: "/nonexistent/cert.pem".into(), key: "/nonexistent/key.pem".into() };
        let error = pair.load().unwrap_err();
        assert!(matches!(error, TlsError::Read { .. }), "{error}");
        assert!(error.to_string().contains("/nonexistent/cert.pem"), "{error}");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = files(dir.path(), "not a certificate\n", "").load().unwrap_err();
        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error}");
    }

    #[test]
    fn a_certificate_without_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Any base64 body passes the PEM layer; the key file is what is missing.
        let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let error = files(dir.path(), cert, "nothing here\n").load().unwrap_err();
        assert!(matches!(error, TlsError::BadKey { .. }), "{error}");
    }

    #[test]
    fn a_key_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        let error = files(dir.path(), cert, key).load().unwrap_err();
        assert!(matches!(error, TlsError::Mismatch { .. }), "{error}");
    }
}
