//! The wire protocol below the SDK: raw HTTP/1.1 requests, status codes, error bodies,
//! x-amzn-RequestId and x-amz-crc32.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use meridian_tests::*;
use serde_json::{json, Value};

/// Longest a raw request may take.
const RAW_TIMEOUT_MS: u64 = 10_000;

/// A parsed HTTP response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The error type after the `#` of `__type`.
    fn error_type(&self) -> String {
        let body = self.json();
        let full = body["__type"]
            .as_str()
            .unwrap_or_else(|| panic!("no __type in {body}"));
        full.rsplit('#').next().unwrap().to_owned()
    }
}

/// Reads one response from `stream` (Content-Length or chunked body).
fn read_response(stream: &mut TcpStream) -> Response {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).expect("reading response");
        assert!(
            n > 0,
            "connection closed before the response headers: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..header_end].to_vec()).expect("headers are UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut rest = buf[header_end..].to_vec();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if let Some(len) = find("content-length") {
        let len: usize = len.parse().unwrap();
        while rest.len() < len {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed mid-body");
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        rest
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            // Ensure a full size line is buffered.
            while !rest.windows(2).any(|w| w == b"\r\n") {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0);
                rest.extend_from_slice(&chunk[..n]);
            }
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            rest.drain(..line_end + 2);
            while rest.len() < size + 2 {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0);
                rest.extend_from_slice(&chunk[..n]);
            }
            body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
            if size == 0 {
                break body;
            }
        }
    } else {
        stream.read_to_end(&mut rest).unwrap();
        rest
    };
    Response {
        status,
        headers,
        body,
    }
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(RAW_TIMEOUT_MS)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_millis(RAW_TIMEOUT_MS)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends one POST / with the given target (None: no X-Amz-Target header) and body.
fn send(stream: &mut TcpStream, port: u16, target: Option<&str>, body: &[u8]) -> Response {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Date: 20240101T000000Z\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(target) = target {
        request.push_str(&format!("X-Amz-Target: {target}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_response(stream)
}

/// One raw (unsigned) request on a fresh connection.
pub(crate) fn call(server: &Server, operation: &str, body: &Value) -> Response {
    let mut stream = connect(server);
    send(
        &mut stream,
        server.port(),
        Some(&format!("DynamoDB_20120810.{operation}")),
        body.to_string().as_bytes(),
    )
}

/// Every response carries a request id and a CRC32 of its body.
fn assert_standard_headers(r: &Response) {
    let id = r
        .header("x-amzn-RequestId")
        .expect("x-amzn-RequestId header");
    assert!(!id.is_empty());
    let crc: u32 = r
        .header("x-amz-crc32")
        .expect("x-amz-crc32 header")
        .parse()
        .expect("x-amz-crc32 is a decimal u32");
    assert_eq!(
        crc,
        crc32fast::hash(&r.body),
        "x-amz-crc32 does not match the body"
    );
    let ct = r.header("content-type").expect("content-type header");
    assert!(
        ct.starts_with("application/x-amz-json-1.0"),
        "content-type {ct}"
    );
}

#[tokio::test]
async fn t10_success_headers_and_body() {
    let server = Server::start().await;
    let r = call(&server, "ListTables", &json!({}));
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    assert_standard_headers(&r);
    assert_eq!(r.json(), json!({"TableNames": []}));

    // Two requests get two different request ids.
    let r2 = call(&server, "ListTables", &json!({}));
    assert_ne!(r.header("x-amzn-RequestId"), r2.header("x-amzn-RequestId"));
}

#[tokio::test]
async fn t11_keep_alive_serves_many_requests_on_one_connection() {
    let server = Server::start().await;
    let mut stream = connect(&server);
    for _ in 0..20 {
        let r = send(
            &mut stream,
            server.port(),
            Some("DynamoDB_20120810.ListTables"),
            b"{}",
        );
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn t20_error_body_shape() {
    let server = Server::start().await;
    let r = call(&server, "DescribeTable", &json!({"TableName": "missing"}));
    assert_eq!(r.status, 400);
    assert_standard_headers(&r);
    let body = r.json();
    assert_eq!(
        body["__type"], "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "{body}"
    );
    let message = body["message"]
        .as_str()
        .or_else(|| body["Message"].as_str());
    assert!(message.is_some_and(|m| !m.is_empty()), "{body}");

    let r = call(
        &server,
        "GetItem",
        &json!({"TableName": "missing", "Key": {"pk": {"S": "x"}}}),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "ResourceNotFoundException")
    );
}

#[tokio::test]
async fn t21_malformed_json_is_serialization_exception() {
    let server = Server::start().await;
    let mut stream = connect(&server);
    for body in [&b"{not json"[..], b"[1,2]", b"\"str\""] {
        let r = send(
            &mut stream,
            server.port(),
            Some("DynamoDB_20120810.ListTables"),
            body,
        );
        assert_eq!(r.status, 400, "body {:?}", String::from_utf8_lossy(body));
        assert_standard_headers(&r);
        assert_eq!(
            r.error_type(),
            "SerializationException",
            "body {:?}",
            String::from_utf8_lossy(body)
        );
        let ty = r.json()["__type"].as_str().unwrap().to_owned();
        assert!(ty.contains('#'), "__type {ty} has no namespace");
    }
    // A field of the wrong JSON type.
    let r = call(&server, "DescribeTable", &json!({"TableName": 5}));
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException")
    );
}

#[tokio::test]
async fn t22_unknown_operation() {
    let server = Server::start().await;
    let r = call(&server, "Frobnicate", &json!({}));
    assert_eq!(r.status, 400);
    assert_standard_headers(&r);
    assert_eq!(r.error_type(), "UnknownOperationException");

    let mut stream = connect(&server);
    let r = send(
        &mut stream,
        server.port(),
        Some("SomethingElse_20120810.ListTables"),
        b"{}",
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException")
    );

    let mut stream = connect(&server);
    let r = send(&mut stream, server.port(), None, b"{}");
    assert_eq!(r.status, 400, "missing X-Amz-Target");
}

#[tokio::test]
async fn t30_attribute_value_shapes_are_validated() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "items").await;
    for (value, what) in [
        (json!({"S": "a", "N": "1"}), "two types in one value"),
        (json!({}), "no type"),
        (json!({"N": "abc"}), "a number that does not parse"),
        (json!({"B": "not base64!!"}), "binary that is not base64"),
        (json!({"NULL": false}), "NULL false"),
        (json!({"SS": []}), "an empty set"),
    ] {
        let r = call(
            &server,
            "PutItem",
            &json!({"TableName": "items", "Item": {"pk": {"S": "k"}, "a": value}}),
        );
        assert_eq!(
            r.status,
            400,
            "{what}: {:?}",
            String::from_utf8_lossy(&r.body)
        );
        let ty = r.error_type();
        assert!(
            ty == "ValidationException" || ty == "SerializationException",
            "{what}: {ty}"
        );
    }
    // Unknown top-level members are ignored, as by DynamoDB.
    let r = call(
        &server,
        "PutItem",
        &json!({"TableName": "items", "Item": {"pk": {"S": "k"}}, "SomeFutureParameter": true}),
    );
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn t31_large_numbers_survive_json_as_strings() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "items").await;
    let big = "12345678901234567890123456789012345678";
    let r = call(
        &server,
        "PutItem",
        &json!({"TableName": "items", "Item": {"pk": {"S": "k"}, "n": {"N": big}}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({}),
        "PutItem without ReturnValues returns an empty object"
    );
    let r = call(
        &server,
        "GetItem",
        &json!({"TableName": "items", "Key": {"pk": {"S": "k"}}, "ConsistentRead": true}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Item"]["n"], json!({"N": big}));
}
