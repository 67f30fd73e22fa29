//! The HTTP server: headers, keep-alive, body limit, health, unknown targets, shutdown.

use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::serve;
use crate::tests::region;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body.
async fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Reply {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
            let headers: Vec<(String, String)> = lines
                .map(|l| {
                    let (n, v) = l.split_once(':').unwrap();
                    (n.trim().to_owned(), v.trim().to_owned())
                })
                .collect();
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap();
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Reply {
                status,
                headers,
                body,
            };
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn post(target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn t20_http_round_trips_and_shutdown() {
    tracing::info!("--- start a server on an ephemeral port");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, Arc::new(region()), async {
        let _ = stop_rx.await;
    }));

    tracing::info!("--- two requests on one kept-alive connection");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    stream
        .write_all(&post("DynamoDB_20120810.ListTables", "{}"))
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({"TableNames": []}));
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let crc: u32 = reply.header("x-amz-crc32").unwrap().parse().unwrap();
    assert_eq!(crc, crc32fast::hash(&reply.body));
    let id = reply.header("x-amzn-requestid").unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);

    stream
        .write_all(&post(
            "DynamoDB_20120810.DescribeTable",
            r#"{"TableName": "Nope"}"#,
        ))
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    assert!(reply.header("x-amzn-requestid").is_some());

    tracing::info!("--- unknown target, malformed JSON, health");
    stream
        .write_all(&post("DynamoDB_20120810.Nope", "{}"))
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#UnknownOperationException"
    );
    stream
        .write_all(&post("DynamoDB_20120810.ListTables", "{nope"))
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(
        reply.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#SerializationException"
    );
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.status, 200);
    assert!(String::from_utf8_lossy(&reply.body).starts_with("healthy"));

    tracing::info!("--- a declared body over the limit is refused before it is read");
    let mut big = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: {}\r\n\r\n",
        model::limits::REQUEST_BODY_BYTES_MAX + 1
    );
    big.write_all(head.as_bytes()).await.unwrap();
    let mut big_buf = Vec::new();
    let reply = read_reply(&mut big, &mut big_buf).await;
    assert_eq!(reply.status, 413);

    tracing::info!("--- shutdown closes idle connections and returns");
    let _ = stop_tx.send(());
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
    let mut rest = [0u8; 16];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut rest))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "idle connection should be closed");
}

#[tokio::test]
async fn t30_cors_preflight_and_cross_origin_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, Arc::new(region()), async {
        let _ = stop_rx.await;
    }));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();

    tracing::info!("--- a browser's preflight");
    stream
        .write_all(
            b"OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3000\r\n\
              Access-Control-Request-Method: POST\r\n\
              Access-Control-Request-Headers: content-type,x-amz-target\r\n\
              Content-Length: 0\r\n\r\n",
        )
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("content-type,x-amz-target")
    );
    assert!(reply
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST")));

    tracing::info!("--- the request itself, and one without an Origin");
    let mut request = post("DynamoDB_20120810.ListTables", "{}");
    let at = request.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    request.splice(at..at, b"Origin: http://localhost:3000\r\n".iter().copied());
    stream.write_all(&request).await.unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert!(reply
        .header("access-control-expose-headers")
        .is_some_and(|h| h.contains("x-amzn-RequestId")));
    stream
        .write_all(&post("DynamoDB_20120810.ListTables", "{}"))
        .await
        .unwrap();
    let reply = read_reply(&mut stream, &mut buf).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);

    let _ = stop_tx.send(());
    drop(stream);
    server.await.unwrap().unwrap();
}
