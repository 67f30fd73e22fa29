//! How an API listener protects itself and its node: connection and time limits (so that
//! slow or stalled clients cannot take every file descriptor), the browser-facing rules (CORS
//! origins, the Host check against DNS rebinding) and the admin secret.

use std::net::SocketAddr;
use std::sync::Arc;

/// Default cap on open API connections. Beyond it a new connection gets a 503
/// ServiceUnavailable (which SDKs retry) and is closed.
pub const MAX_CONNECTIONS_DEFAULT: usize = 512;
/// How long a client may take to send a request's body once its headers arrived.
pub const BODY_READ_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// How long a connection may sit without a request (and how long a request's headers may
/// take): hyper's header-read timer runs from the end of one exchange to the next request's
/// headers.
pub const CONNECTION_IDLE_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Most bytes a request line plus headers may take; beyond it the client gets a 431 (or a
/// 414 for an overlong request line) and the connection closes, instead of the server
/// buffering without bound. (hyper also caps a request at 100 header fields: 431.)
pub const MAX_HEADER_BYTES_DEFAULT: usize = 64 * 1024;
/// The header that carries the admin secret on admin calls (`POST /_meridian/ttl/sweep`).
pub const ADMIN_SECRET_HEADER: &str = "x-meridian-admin-secret";

/// Which browser origins may read answers (CORS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// Any origin (`Access-Control-Allow-Origin: *`), as DynamoDB Local answers by default.
    #[default]
    Any,
    /// Only these origins (exact `scheme://host[:port]` matches); others get no CORS headers,
    /// so the browser refuses to hand the answer to the page.
    List(Vec<String>),
}

impl CorsOrigins {
    /// Parses DynamoDB Local's `-cors` value: `*`, or a comma-separated list of origins.
    pub fn parse(spec: &str) -> CorsOrigins {
        let origins: Vec<String> = spec
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect();
        if origins.is_empty() || origins.iter().any(|o| o == "*") {
            CorsOrigins::Any
        } else {
            CorsOrigins::List(origins)
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    pub fn allow(&self, origin: &str) -> Option<String> {
        match self {
            CorsOrigins::Any => Some("*".to_owned()),
            CorsOrigins::List(list) => list.iter().find(|o| *o == origin).cloned(),
        }
    }
}

/// The limits and rules of one API listener.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Open connections at most (see [`MAX_CONNECTIONS_DEFAULT`]).
    pub max_connections: usize,
    /// See [`BODY_READ_TIMEOUT_MS_DEFAULT`].
    pub body_read_timeout_ms: u64,
    /// See [`CONNECTION_IDLE_TIMEOUT_MS_DEFAULT`].
    pub idle_timeout_ms: u64,
    /// Browser origins allowed to read answers.
    pub cors: CorsOrigins,
    /// Accept only loopback names in the Host header (set when the listener is bound to a
    /// loopback address): a web page on another site cannot then reach the local endpoint
    /// through a DNS name it re-points at 127.0.0.1 (DNS rebinding).
    pub loopback_hosts_only: bool,
    /// The secret admin calls must carry in [`ADMIN_SECRET_HEADER`]; `None` refuses them.
    pub admin_secret: Option<Arc<str>>,
    /// The access keys DynamoDB and Streams requests must be signed with (SigV4), when
    /// `--require-auth` is on; `None` (the default) accepts any credentials.
    pub auth: Option<Arc<crate::sigv4::AccessKeys>>,
    /// See [`MAX_HEADER_BYTES_DEFAULT`].
    pub max_header_bytes: usize,
    /// Serve the web console (`/console` and its status and chaos endpoints) even though the
    /// listener is not on loopback (`--console-bind-any`). Off: only a loopback listener
    /// serves it, and every console path elsewhere is a 404.
    pub console_bind_any: bool,
    /// The process's metrics: requests are counted into it and `GET /metrics` serves it
    /// (`None`: no metrics, and `/metrics` is a 404).
    pub metrics: Option<metrics::Metrics>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: MAX_CONNECTIONS_DEFAULT,
            body_read_timeout_ms: BODY_READ_TIMEOUT_MS_DEFAULT,
            idle_timeout_ms: CONNECTION_IDLE_TIMEOUT_MS_DEFAULT,
            cors: CorsOrigins::Any,
            loopback_hosts_only: false,
            admin_secret: None,
            auth: None,
            max_header_bytes: MAX_HEADER_BYTES_DEFAULT,
            console_bind_any: false,
            metrics: None,
        }
    }
}

impl ServeOptions {
    /// Defaults for a listener bound to `addr`: the Host check is on for loopback addresses.
    pub fn for_addr(addr: SocketAddr) -> ServeOptions {
        ServeOptions {
            loopback_hosts_only: addr.ip().is_loopback(),
            ..ServeOptions::default()
        }
    }

    /// Whether this listener serves the web console: on loopback, or when opted in.
    pub fn console_enabled(&self) -> bool {
        self.loopback_hosts_only || self.console_bind_any
    }
}

/// Host names a loopback listener answers to (with any port): `localhost` (and names under
/// `.localhost`, which resolve to loopback by RFC 6761), IPv4 loopback addresses, `[::1]`,
/// and `host.docker.internal` (a container reaching a server on its host).
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:8000` or `[::1]`
        Some(rest) => match rest.split_once(']') {
            Some((ip, _)) => {
                return ip
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|ip| ip.is_loopback())
            }
            None => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name == "host.docker.internal"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Compares a given secret with the expected one in constant time (for equal lengths).
pub(crate) fn secret_matches(expected: &[u8], given: &[u8]) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    expected
        .iter()
        .zip(given)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_loopback_hosts() {
        for ok in [
            "localhost",
            "localhost:8000",
            "LOCALHOST.:8000",
            "app.localhost:3000",
            "127.0.0.1",
            "127.0.0.1:8000",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8000",
            "host.docker.internal:8000",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "10.0.0.1:8000",
            "[::2]:8000",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn t10_cors_origins() {
        assert_eq!(CorsOrigins::parse("*"), CorsOrigins::Any);
        assert_eq!(CorsOrigins::parse(""), CorsOrigins::Any);
        let list = CorsOrigins::parse("http://localhost:3000, https://app.example/");
        assert_eq!(
            list.allow("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            list.allow("https://app.example").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(list.allow("https://evil.example"), None);
        assert_eq!(CorsOrigins::Any.allow("x").as_deref(), Some("*"));
    }

    #[test]
    fn t10_secret_comparison() {
        assert!(secret_matches(b"abc", b"abc"));
        assert!(!secret_matches(b"abc", b"abd"));
        assert!(!secret_matches(b"abc", b"ab"));
    }
}
