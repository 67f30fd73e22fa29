//! One keep-alive HTTP/1.1 connection speaking the DynamoDB JSON protocol.

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A placeholder SigV4 header: peers check its shape, none checks the signature.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=bench/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// Where the bench sends its requests.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `host:port`, for connecting and for the Host header.
    pub(crate) authority: String,
}

impl Target {
    /// Parses `http://host[:port][/]`.
    pub(crate) fn parse(endpoint: &str) -> anyhow::Result<Target> {
        let uri: http::Uri = endpoint
            .parse()
            .with_context(|| format!("bad endpoint {endpoint:?}"))?;
        anyhow::ensure!(
            uri.scheme_str().unwrap_or("http") == "http",
            "only plain http:// endpoints are supported, got {endpoint:?}"
        );
        let host = uri
            .host()
            .with_context(|| format!("endpoint {endpoint:?} has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        Ok(Target {
            authority: format!("{host}:{port}"),
        })
    }
}

/// An open connection; requests on it are sent one at a time.
#[derive(Debug)]
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

/// What came back for one request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

impl Connection {
    /// Opens a TCP connection (Nagle off) and performs the HTTP/1.1 handshake.
    pub(crate) async fn open(target: &Target) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(&target.authority)
            .await
            .with_context(|| format!("connecting to {}", target.authority))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // The connection ends when the sender is dropped or the peer closes; either way
            // the worker notices on its next request.
            let _closed = conn.await;
        });
        Ok(Connection {
            sender,
            authority: target.authority.clone(),
        })
    }

    /// Sends `DynamoDB_20120810.<operation>` with `body` and reads the whole reply.
    pub(crate) async fn call(&mut self, operation: &str, body: Bytes) -> anyhow::Result<Reply> {
        self.call_target(&format!("DynamoDB_20120810.{operation}"), body)
            .await
    }

    /// Sends a request with `X-Amz-Target: <target>` (e.g. `DynamoDBStreams_20120810.GetRecords`).
    pub(crate) async fn call_target(&mut self, target: &str, body: Bytes) -> anyhow::Result<Reply> {
        self.sender.ready().await?;
        let request = http::Request::post("/")
            .header(http::header::HOST, &self.authority)
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header("x-amz-date", "20240101T000000Z")
            .header(http::header::AUTHORIZATION, AUTHORIZATION)
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }
}

impl Reply {
    /// The error type after the `#` of `__type`, if the body is a DynamoDB error.
    pub(crate) fn error_type(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let full = value.get("__type")?.as_str()?;
        Some(full.rsplit('#').next().unwrap_or(full).to_owned())
    }
}
