//! Reaching PostgreSQL: the URL (libpq's URI form), the password (only from a variable or
//! a password file, never needed in the URL), and TLS through rustls.
//!
//! The URL's query takes tokio-postgres's parameters (`sslmode`, `connect_timeout`,
//! `options`, `application_name`, …) plus libpq's `sslrootcert`. `sslmode=verify-ca` and
//! `verify-full` are accepted as `require`: whenever TLS is used, gateform verifies the
//! server's certificate and name (against `sslrootcert` when given, else the platform's
//! roots), so `require` is libpq's `verify-full` here.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::task::JoinHandle;
use tokio_postgres::Client;
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::ledger::LedgerError;

/// How to reach PostgreSQL beyond the URL: what libpq reads from its variables (the CLI
/// passes `PGPASSWORD`, `PGPASSFILE`, `PGSSLROOTCERT` and `$USER`).
#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    /// The password, when the URL has none (`PGPASSWORD`).
    pub password: Option<String>,
    /// A libpq password file (`PGPASSFILE`, else `~/.pgpass`): lines of
    /// `host:port:database:user:password`, `*` matching anything. Ignored when group or
    /// others may read it, as libpq does.
    pub passfile: Option<PathBuf>,
    /// PEM file of the certificate authorities to trust (`PGSSLROOTCERT`), when the URL
    /// names no `sslrootcert`.
    pub root_cert: Option<PathBuf>,
    /// The user when the URL names none (`$USER`).
    pub default_user: Option<String>,
}

/// A parsed URL with its TLS connector: opens sessions.
#[derive(Clone)]
pub struct Connector {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    location: String,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location)
    }
}

/// A session: the client and the task driving its connection, which ends when the
/// connection does (with the error that ended it).
pub type Session = (Client, JoinHandle<Result<(), tokio_postgres::Error>>);

impl Connector {
    /// Parses `url` and prepares TLS. Errors name the problem, never the password.
    pub fn new(url: &str, opts: &PgOptions) -> Result<Connector, LedgerError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| LedgerError::Config(format!("invalid PostgreSQL URL {}: {e}", redact_url(url))))?;
        let mut root_cert = opts.root_cert.clone();
        let mut query = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("sslrootcert", v) => root_cert = Some(PathBuf::from(v)),
                ("sslmode", "verify-ca" | "verify-full") => query.push(("sslmode".to_owned(), "require".to_owned())),
                (k, v) => query.push((k.to_owned(), v.to_owned())),
            }
        }
        let mut cleaned = parsed.clone();
        cleaned.set_query(None);
        if !query.is_empty() {
            cleaned.query_pairs_mut().extend_pairs(query);
        }
        let mut config = tokio_postgres::Config::from_str(cleaned.as_str())
            .map_err(|e| LedgerError::Config(format!("invalid PostgreSQL URL {}: {e}", redact_url(url))))?;
        if config.get_user().is_none()
            && let Some(user) = &opts.default_user
        {
            config.user(user);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.keepalives(true).keepalives_idle(Duration::from_secs(5)).keepalives_interval(Duration::from_secs(2));
        config.keepalives_retries(3);
        if config.get_application_name().is_none() {
            config.application_name("gateform");
        }
        let location = describe(&config);
        if config.get_password().is_none() {
            let password = opts.password.clone().or_else(|| {
                opts.passfile.as_deref().and_then(|f| passfile_lookup(f, &config)).filter(|p| !p.is_empty())
            });
            if let Some(p) = password {
                config.password(p);
            }
        }
        let tls = MakeRustlsConnect::new(tls_config(root_cert.as_deref())?);
        Ok(Connector { config, tls, location })
    }

    /// `postgres://user@host:port/db`: the database, without the password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The error of this database.
    pub fn err(&self, source: tokio_postgres::Error) -> LedgerError {
        LedgerError::Postgres { location: self.location.clone(), source }
    }

    /// Opens a session.
    pub async fn connect(&self) -> Result<Session, LedgerError> {
        let (client, connection) = self.config.connect(self.tls.clone()).await.map_err(|e| self.err(e))?;
        Ok((client, tokio::spawn(connection)))
    }
}

/// The URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" { "***".to_owned() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

/// [`redact_url`] for `postgres://` URLs; any other text (a file path) unchanged.
pub fn redact_url_or_path(text: &str) -> String {
    match super::super::LedgerLocation::parse(text) {
        super::super::LedgerLocation::Postgres(url) => redact_url(&url),
        super::super::LedgerLocation::Sqlite(_) => text.to_owned(),
    }
}

/// Whether a URL carries a password itself (in its user part or a `password` parameter).
pub fn url_has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some() || u.query_pairs().any(|(k, _)| k == "password"))
}

fn hosts(config: &tokio_postgres::Config) -> Vec<String> {
    config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect()
}

fn describe(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let hosts = hosts(config);
    let host = hosts.first().cloned().unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or_default();
    format!("postgres://{user}{host}:{port}/{db}")
}

/// The password of the first matching line of a libpq password file.
fn passfile_lookup(path: &Path, config: &tokio_postgres::Config) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!("ignoring the password file {}: group or others can read it (chmod 0600)", path.display());
            return None;
        }
    }
    let text = std::fs::read_to_string(path).ok()?;
    let host = hosts(config).first().cloned().unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default().to_owned();
    let db = config.get_dbname().unwrap_or(&user).to_owned();
    let want = [host.as_str(), port.as_str(), db.as_str(), user.as_str()];
    text.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()).find_map(|line| {
        let fields = split_passfile_line(line);
        let [h, p, d, u, pw] = fields.as_slice() else { return None };
        let matches = [h, p, d, u].iter().zip(want).all(|(f, w)| f.as_str() == "*" || f.as_str() == w);
        matches.then(|| pw.clone())
    })
}

/// Splits on unescaped `:`; `\:` and `\\` are literal.
fn split_passfile_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(last) = fields.last_mut()
                {
                    last.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

fn tls_config(root_cert: Option<&Path>) -> Result<rustls::ClientConfig, LedgerError> {
    // The process-wide provider (ring); a second install is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls_err = |what: String| LedgerError::Config(format!("cannot set up TLS to PostgreSQL: {what}"));
    match root_cert {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| tls_err(format!("{}: {e}", path.display())))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_err(format!("{}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(tls_err(format!("{} holds no certificate", path.display())));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| tls_err(format!("{}: {e}", path.display())))?;
            }
            Ok(rustls::ClientConfig::builder().with_root_certificates(Arc::new(roots)).with_no_client_auth())
        }
        None => {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier().map_err(|e| tls_err(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact_url("postgres://u:hunter2@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact_url("postgres://u@db/x?password=hunter2"), "postgres://u@db/x?password=***");
        assert!(url_has_password("postgres://u:p@db/x"));
        assert!(url_has_password("postgresql://u@db/x?password=p"));
        assert!(!url_has_password("postgres://u@db/x?sslmode=require"));
        let c = Connector::new("postgres://u:hunter2@db.internal:6432/ledger", &PgOptions::default()).unwrap();
        assert_eq!(c.location(), "postgres://u@db.internal:6432/ledger");
        let bad = Connector::new("postgres://u:hunter2@db/x?bogus=1", &PgOptions::default()).unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }

    #[test]
    fn password_files_are_read_as_libpq_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:nope\ndb:5432:ledger:ci:s\\:cret\n*:*:*:ci:fallback\n").unwrap();
        let config = |url: &str| tokio_postgres::Config::from_str(url).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(passfile_lookup(&file, &config("postgres://ci@db/ledger")), None, "readable by others");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(passfile_lookup(&file, &config("postgres://ci@db/ledger")).as_deref(), Some("s:cret"));
        assert_eq!(passfile_lookup(&file, &config("postgres://ci@elsewhere/x")).as_deref(), Some("fallback"));
        assert_eq!(passfile_lookup(&file, &config("postgres://bob@elsewhere/x")), None);
    }

    #[test]
    fn verify_modes_and_root_certificates() {
        let ok = Connector::new("postgres://u@db/x?sslmode=verify-full", &PgOptions::default());
        assert!(ok.is_ok(), "{ok:?}");
        let missing = Connector::new("postgres://u@db/x?sslrootcert=/nonexistent.pem", &PgOptions::default());
        assert!(missing.unwrap_err().to_string().contains("/nonexistent.pem"));
    }
}
