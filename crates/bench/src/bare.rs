//! The bare reference server: hyper answering every request with one fixed JSON body.
//!
//! Benchmarked next to the real servers, it shows what the HTTP stack and the load generator
//! cost on this machine, so a server's figures can be read against that ceiling.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A small body shaped like a ListTables reply, so a readiness probe accepts it too.
const BODY: &[u8] = br#"{"TableNames":[]}"#;

/// Serves the fixed body on 127.0.0.1:`port` until Ctrl-C. Prints the ready line first.
pub(crate) async fn serve(port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("bare hyper ready on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                // Read the request body as a real server would before answering.
                let _body = request.into_body().collect().await;
                let response = http::Response::builder()
                    .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
                    .body(Full::new(Bytes::from_static(BODY)));
                Ok::<_, Infallible>(response.unwrap_or_default())
            });
            let _closed = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
