//! The HTTP layer as DynamoDB (and DynamoDB Local's launcher) behaves: opt-in SigV4
//! verification, compressed request and response bodies, DynamoDB Local's flags,
//! WarmThroughput in DescribeTable, the `Server` and CORS expose headers, header limits.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, UpdateGlobalSecondaryIndexAction, WarmThroughput,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;
use serde_json::{json, Value};

/// The key the test clients sign with (see `client_for`).
const TEST_KEY_ID: &str = "AKIDMERIDIANTEST";
const TEST_SECRET: &str = "meridian-test-secret";
/// Longest a raw request may take.
const RAW_TIMEOUT_MS: u64 = 10_000;

async fn start_secured() -> Server {
    let key = format!("{TEST_KEY_ID}:{TEST_SECRET}");
    Server::start_with(Storage::InMemory, &["--require-auth", "--auth-key", &key])
        .await
        .expect("starting meridian --require-auth")
}

/// An SDK client for `url` signing with the given key.
fn client_with(url: &str, key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            key_id,
            secret,
            None,
            None,
            "http-fidelity",
        ))
        .endpoint_url(url)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// A raw HTTP response.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The part of `__type` after the `#`.
    fn error_type(&self) -> String {
        let body = self.json();
        let full = body["__type"].as_str().unwrap_or_default().to_owned();
        full.rsplit('#').next().unwrap().to_owned()
    }

    fn message(&self) -> String {
        let body = self.json();
        body["message"]
            .as_str()
            .or(body["Message"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body`, and reads one
/// response (Content-Length framed, or up to the close).
fn send(port: u16, head: &str, body: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let timeout = Some(Duration::from_millis(RAW_TIMEOUT_MS));
    stream.set_read_timeout(timeout).unwrap();
    stream.set_write_timeout(timeout).unwrap();
    let mut request = format!("{head}\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    request.extend_from_slice(body);
    // The server may answer (and close) before it has read an oversized request.
    let _ = stream.write_all(&request);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).expect("reading the response");
        assert!(n > 0, "closed before the response headers");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..header_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buf[header_end..].to_vec();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse::<usize>().unwrap());
    match len {
        Some(len) => {
            while body.len() < len {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0, "closed mid-body");
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None => {
            let _ = stream.read_to_end(&mut body);
        }
    }
    Raw {
        status,
        headers,
        body,
    }
}

/// A POST of a DynamoDB operation with extra header lines.
fn post(port: u16, operation: &str, extra: &[&str], body: &[u8]) -> Raw {
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDB_20120810.{operation}"
    );
    for line in extra {
        head.push_str("\r\n");
        head.push_str(line);
    }
    send(port, &head, body)
}

/// Signs a ListTables request as of `time` with `aws-sigv4` (the SDK's signer) and sends it.
fn signed_list_tables(port: u16, time: SystemTime) -> Raw {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let body = b"{}";
    let host = format!("127.0.0.1:{port}");
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "DynamoDB_20120810.ListTables"),
    ];
    let identity = Credentials::new(TEST_KEY_ID, TEST_SECRET, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("dynamodb")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        format!("http://{host}/"),
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut extra: Vec<String> = instructions
        .headers()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    extra.retain(|l| !l.to_ascii_lowercase().starts_with("host:"));
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    post(port, "ListTables", &extra, body)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn t10_require_auth_accepts_the_key_and_refuses_the_rest() {
    let server = start_secured().await;
    // The right key: the SDK works, DynamoDB and Streams alike.
    let good = server.client();
    good.create_table()
        .table_name("authed")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let tables = good.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["authed"]);
    server.streams_client().list_streams().send().await.unwrap();

    // A wrong secret: the signature does not match.
    let err = client_with(server.url(), TEST_KEY_ID, "not-the-secret")
        .list_tables()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    assert!(err
        .message()
        .unwrap_or_default()
        .starts_with("The request signature we calculated does not match"));
    // An unknown access key.
    let err = client_with(server.url(), "AKIDNOBODY", TEST_SECRET)
        .list_tables()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"), "{err:?}");
    assert_eq!(
        err.message(),
        Some("The security token included in the request is invalid.")
    );

    let port = server.port();
    tokio::task::spawn_blocking(move || {
        // No signature at all.
        let raw = post(port, "ListTables", &[], b"{}");
        assert_eq!(raw.status, 400);
        assert_eq!(raw.error_type(), "MissingAuthenticationTokenException");
        assert_eq!(raw.message(), "Request is missing Authentication Token");
        // A correct signature made now passes; the same 20 minutes off either way does not.
        let now = SystemTime::now();
        let raw = signed_list_tables(port, now);
        assert_eq!(raw.status, 200, "{:?}", String::from_utf8_lossy(&raw.body));
        let old = signed_list_tables(port, now - Duration::from_secs(20 * 60));
        assert_eq!(old.status, 400);
        assert_eq!(old.error_type(), "InvalidSignatureException");
        assert!(
            old.message().starts_with("Signature expired: "),
            "{}",
            old.message()
        );
        assert!(
            old.message().contains("is now earlier than"),
            "{}",
            old.message()
        );
        let future = signed_list_tables(port, now + Duration::from_secs(20 * 60));
        assert_eq!(future.error_type(), "InvalidSignatureException");
        assert!(
            future.message().starts_with("Signature not yet current: "),
            "{}",
            future.message()
        );
        // The health check needs no signature.
        let health = send(
            port,
            &format!("GET /_meridian/health HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
            b"",
        );
        assert_eq!(health.status, 200);
    })
    .await
    .unwrap();
}

/// An SDK client for `url` signing for `region` with the given key.
fn client_in(url: &str, region: &'static str, key_id: &str, secret: &str) -> Client {
    let config = client_with(url, key_id, secret)
        .config()
        .to_builder()
        .region(Region::new(region))
        .build();
    Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_dev_lab_require_auth_verifies_every_region() {
    let key = format!("{TEST_KEY_ID}:{TEST_SECRET}");
    let server = Server::spawn(&[
        "dev".to_owned(),
        "--in-memory".to_owned(),
        "--port".to_owned(),
        "0".to_owned(),
        "--regions".to_owned(),
        "us-east-1,eu-west-1".to_owned(),
        "--no-auto-global".to_owned(),
        "--require-auth".to_owned(),
        "--auth-key".to_owned(),
        key,
    ])
    .expect("starting meridian dev --require-auth");
    // The configured key works in every region of the shared port (routed by the signing
    // region); the region's own listener is set up by the same code.
    for region in ["us-east-1", "eu-west-1"] {
        let good = client_in(server.url(), region, TEST_KEY_ID, TEST_SECRET);
        good.create_table()
            .table_name(format!("authed-{region}"))
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        let tables = good.list_tables().send().await.unwrap();
        assert_eq!(tables.table_names(), [format!("authed-{region}")]);

        // Any other key is refused as DynamoDB refuses an unknown one; so is a wrong secret.
        let unknown = client_in(server.url(), region, "AKIDUNKNOWN", TEST_SECRET);
        let err = unknown.list_tables().send().await.unwrap_err();
        assert_eq!(err.code(), Some("UnrecognizedClientException"), "{err:?}");
        let wrong = client_in(server.url(), region, TEST_KEY_ID, "not-the-secret");
        let err = wrong.list_tables().send().await.unwrap_err();
        assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    }
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        let raw = post(port, "ListTables", &[], b"{}");
        assert_eq!(raw.status, 400);
        assert_eq!(raw.error_type(), "MissingAuthenticationTokenException");
    })
    .await
    .unwrap();
}

#[test]
fn t10_dev_lab_require_auth_without_a_key_refuses_to_start() {
    let out = Command::new(binary_path().unwrap())
        .args(["dev", "--in-memory", "--port", "0", "--require-auth"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--require-auth needs at least one access key"),
        "{stderr}"
    );
}

#[tokio::test]
async fn t10_without_require_auth_any_credentials_work() {
    let server = Server::start().await;
    client_with(server.url(), "ANYKEY", "any-secret")
        .list_tables()
        .send()
        .await
        .unwrap();
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        assert_eq!(post(port, "ListTables", &[], b"{}").status, 200);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn t10_require_auth_without_a_key_refuses_to_start() {
    let bin = binary_path().unwrap();
    let out = Command::new(bin)
        .args(["--port", "0", "--in-memory", "--require-auth"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--require-auth needs at least one access key"),
        "{stderr}"
    );
}

#[tokio::test]
async fn t10_compressed_request_bodies() {
    let server = Server::start().await;
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        let create = json!({
            "TableName": "gzipped",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        })
        .to_string();
        let raw = post(
            port,
            "CreateTable",
            &["Content-Encoding: gzip"],
            &gzip(create.as_bytes()),
        );
        assert_eq!(raw.status, 200, "{:?}", String::from_utf8_lossy(&raw.body));
        let put =
            json!({"TableName": "gzipped", "Item": {"pk": {"S": "a"}, "v": {"S": "deflated"}}});
        let raw = post(
            port,
            "PutItem",
            &["Content-Encoding: deflate"],
            &zlib(put.to_string().as_bytes()),
        );
        assert_eq!(raw.status, 200, "{:?}", String::from_utf8_lossy(&raw.body));
        let get = json!({"TableName": "gzipped", "Key": {"pk": {"S": "a"}}}).to_string();
        let raw = post(
            port,
            "GetItem",
            &["Content-Encoding: gzip"],
            &gzip(get.as_bytes()),
        );
        assert_eq!(raw.json()["Item"]["v"]["S"], "deflated");

        // Not gzip at all.
        let raw = post(port, "ListTables", &["Content-Encoding: gzip"], b"{}");
        assert_eq!(raw.status, 400);
        assert_eq!(raw.error_type(), "SerializationException");
        // A coding Meridian does not read.
        let raw = post(port, "ListTables", &["Content-Encoding: br"], b"{}");
        assert_eq!(raw.error_type(), "SerializationException");
        // A small body that inflates past the request limit: refused, not inflated.
        let bomb = gzip(&vec![b' '; 24 << 20]);
        assert!(bomb.len() < 1 << 20);
        let raw = post(port, "ListTables", &["Content-Encoding: gzip"], &bomb);
        assert_eq!(raw.status, 413);
        assert_eq!(raw.error_type(), "RequestEntityTooLargeException");
        // The server still answers.
        assert_eq!(post(port, "ListTables", &[], b"{}").status, 200);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn t10_compressed_responses_carry_the_crc_of_the_wire_bytes() {
    let server = Server::start().await;
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        for (accept, coding) in [("gzip, deflate", "gzip"), ("deflate", "deflate")] {
            let raw = post(
                port,
                "ListTables",
                &[&format!("Accept-Encoding: {accept}")],
                b"{}",
            );
            assert_eq!(raw.status, 200);
            assert_eq!(raw.header("content-encoding"), Some(coding));
            let crc: u32 = raw.header("x-amz-crc32").unwrap().parse().unwrap();
            assert_eq!(
                crc,
                crc32fast::hash(&raw.body),
                "CRC32 is over the compressed body"
            );
            let mut plain = Vec::new();
            match coding {
                "gzip" => flate2::read::GzDecoder::new(&raw.body[..])
                    .read_to_end(&mut plain)
                    .unwrap(),
                _ => flate2::read::ZlibDecoder::new(&raw.body[..])
                    .read_to_end(&mut plain)
                    .unwrap(),
            };
            let body: Value = serde_json::from_slice(&plain).unwrap();
            assert!(body["TableNames"].is_array(), "{body}");
        }
        // Errors too.
        let raw = post(
            port,
            "DescribeTable",
            &["Accept-Encoding: gzip"],
            br#"{"TableName":"nope"}"#,
        );
        assert_eq!(raw.status, 400);
        assert_eq!(raw.header("content-encoding"), Some("gzip"));
        // Not asked for: plain.
        let raw = post(port, "ListTables", &["Accept-Encoding: identity"], b"{}");
        assert_eq!(raw.header("content-encoding"), None);
        let crc: u32 = raw.header("x-amz-crc32").unwrap().parse().unwrap();
        assert_eq!(crc, crc32fast::hash(&raw.body));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn t10_dynamodb_local_launcher_flags() {
    let bin = binary_path().unwrap();
    let version = Command::new(&bin).arg("-version").output().unwrap();
    assert!(version.status.success());
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.starts_with("meridian "), "{text}");

    let help = Command::new(&bin).arg("-help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "-inMemory",
        "-dbPath",
        "-sharedDb",
        "-cors",
        "-port",
        "-disableTelemetry",
        "-delayTransientStatuses",
        "-optimizeDbBeforeStartup",
        "--require-auth",
        "--auth-key",
    ] {
        assert!(text.contains(flag), "{flag} missing from -help:\n{text}");
    }

    let dir = tempfile::tempdir().unwrap();
    let both = Command::new(&bin)
        .args(["-dbPath", &dir.path().display().to_string(), "-inMemory"])
        .output()
        .unwrap();
    assert!(!both.status.success());
    let text = String::from_utf8_lossy(&both.stderr);
    assert!(
        text.contains("You can't specify both -dbPath and -inMemory at once."),
        "{text}"
    );

    // -disableTelemetry is accepted and changes nothing.
    let server = Server::start_with(Storage::InMemory, &["-disableTelemetry", "-sharedDb"])
        .await
        .unwrap();
    server.client().list_tables().send().await.unwrap();
}

#[tokio::test]
async fn t10_warm_throughput_in_describe_table() {
    let server = Server::start().await;
    let client = server.client();
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name("warm_od")
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("g"))
        .key_schema(hash("pk"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_g")
                .key_schema(hash("g"))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    wait_active(&client, "warm_od").await;
    let table = client
        .describe_table()
        .table_name("warm_od")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let warm = table.warm_throughput().expect("WarmThroughput");
    assert_eq!(warm.read_units_per_second(), Some(12_000));
    assert_eq!(warm.write_units_per_second(), Some(4_000));
    assert_eq!(warm.status().map(|s| s.as_str()), Some("ACTIVE"));
    let gsi = &table.global_secondary_indexes()[0];
    let warm = gsi.warm_throughput().expect("GSI WarmThroughput");
    assert_eq!(warm.read_units_per_second(), Some(12_000));
    assert_eq!(warm.write_units_per_second(), Some(4_000));

    client
        .create_table()
        .table_name("warm_prov")
        .attribute_definitions(attr("pk"))
        .key_schema(hash("pk"))
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(7)
                .build()
                .unwrap(),
        )
        .warm_throughput(WarmThroughput::builder().read_units_per_second(100).build())
        .send()
        .await
        .unwrap();
    wait_active(&client, "warm_prov").await;
    let described = client
        .describe_table()
        .table_name("warm_prov")
        .send()
        .await
        .unwrap();
    // The larger of the provisioned units and the value set, per dimension.
    let warm = described.table().unwrap().warm_throughput().unwrap();
    assert_eq!(warm.read_units_per_second(), Some(100));
    assert_eq!(warm.write_units_per_second(), Some(7));

    // UpdateTable: a WarmThroughput alone is a valid update; lower than now is not.
    client
        .update_table()
        .table_name("warm_od")
        .warm_throughput(
            WarmThroughput::builder()
                .read_units_per_second(20_000)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = client
        .update_table()
        .table_name("warm_od")
        .warm_throughput(WarmThroughput::builder().write_units_per_second(10).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    let err = client
        .create_table()
        .table_name("warm_bad")
        .attribute_definitions(attr("pk"))
        .key_schema(hash("pk"))
        .billing_mode(BillingMode::PayPerRequest)
        .warm_throughput(WarmThroughput::builder().read_units_per_second(0).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    assert!(
        err.message()
            .unwrap_or_default()
            .contains("warmThroughput.readUnitsPerSecond"),
        "{err:?}"
    );
}

/// (ReadUnitsPerSecond, WriteUnitsPerSecond) of a table and of each of its GSIs (by name).
async fn warm_of(client: &Client, table: &str) -> ((i64, i64), Vec<(String, (i64, i64))>) {
    let table = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let units = |w: Option<&aws_sdk_dynamodb::types::TableWarmThroughputDescription>| {
        let w = w.expect("WarmThroughput");
        (
            w.read_units_per_second().unwrap(),
            w.write_units_per_second().unwrap(),
        )
    };
    let indexes = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let w = g.warm_throughput().expect("GSI WarmThroughput");
            (
                g.index_name().unwrap().to_owned(),
                (
                    w.read_units_per_second().unwrap(),
                    w.write_units_per_second().unwrap(),
                ),
            )
        })
        .collect();
    (units(table.warm_throughput()), indexes)
}

#[tokio::test]
async fn t10_warm_throughput_is_stored_raised_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_dir(dir.path()).await;
    let client = server.client();
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .unwrap()
    };
    let gsi = |name: &str, warm: Option<WarmThroughput>| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(hash("g"))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .set_warm_throughput(warm)
            .build()
            .unwrap()
    };
    // Above the default on reads, below it on writes: DescribeTable reports the larger.
    let created = client
        .create_table()
        .table_name("warm")
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("g"))
        .key_schema(hash("pk"))
        .billing_mode(BillingMode::PayPerRequest)
        .warm_throughput(
            WarmThroughput::builder()
                .read_units_per_second(30_000)
                .write_units_per_second(100)
                .build(),
        )
        .global_secondary_indexes(gsi(
            "hot",
            Some(
                WarmThroughput::builder()
                    .write_units_per_second(9_000)
                    .build(),
            ),
        ))
        .global_secondary_indexes(gsi("cold", None))
        .send()
        .await
        .unwrap();
    let warm = created
        .table_description()
        .unwrap()
        .warm_throughput()
        .unwrap();
    assert_eq!(warm.read_units_per_second(), Some(30_000));
    assert_eq!(warm.write_units_per_second(), Some(4_000));
    wait_active(&client, "warm").await;
    let (table, mut indexes) = warm_of(&client, "warm").await;
    indexes.sort();
    assert_eq!(table, (30_000, 4_000));
    assert_eq!(
        indexes,
        [
            ("cold".to_owned(), (12_000, 4_000)),
            ("hot".to_owned(), (12_000, 9_000)),
        ]
    );

    // UpdateTable raises the table's and a GSI's; lowering either is refused.
    let updated = client
        .update_table()
        .table_name("warm")
        .warm_throughput(
            WarmThroughput::builder()
                .write_units_per_second(6_000)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let warm = updated
        .table_description()
        .unwrap()
        .warm_throughput()
        .unwrap();
    assert_eq!(warm.write_units_per_second(), Some(6_000));
    client
        .update_table()
        .table_name("warm")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name("cold")
                        .warm_throughput(
                            WarmThroughput::builder()
                                .read_units_per_second(25_000)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (read, write, index) in [(29_999, 6_000, None), (12_000, 8_999, Some("hot"))] {
        let warm = WarmThroughput::builder()
            .read_units_per_second(read)
            .write_units_per_second(write)
            .build();
        let request = client.update_table().table_name("warm");
        let request = match index {
            None => request.warm_throughput(warm),
            Some(name) => request.global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .update(
                        UpdateGlobalSecondaryIndexAction::builder()
                            .index_name(name)
                            .warm_throughput(warm)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            ),
        };
        let err = request.send().await.unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
        assert!(
            err.message()
                .unwrap_or_default()
                .contains("cannot be lower"),
            "{err:?}"
        );
    }
    let expected_indexes = [
        ("cold".to_owned(), (25_000, 4_000)),
        ("hot".to_owned(), (12_000, 9_000)),
    ];
    let (table, mut indexes) = warm_of(&client, "warm").await;
    indexes.sort();
    assert_eq!(table, (30_000, 6_000));
    assert_eq!(indexes, expected_indexes);

    // Stored, not recomputed: the same after a restart on the same data directory.
    server.terminate().unwrap();
    let server = Server::start_on_dir(dir.path()).await;
    let client = server.client();
    let (table, mut indexes) = warm_of(&client, "warm").await;
    indexes.sort();
    assert_eq!(table, (30_000, 6_000));
    assert_eq!(indexes, expected_indexes);

    // A re-created table starts from the defaults again.
    client
        .delete_table()
        .table_name("warm")
        .send()
        .await
        .unwrap();
    client
        .create_table()
        .table_name("warm")
        .attribute_definitions(attr("pk"))
        .key_schema(hash("pk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    wait_active(&client, "warm").await;
    assert_eq!(warm_of(&client, "warm").await.0, (12_000, 4_000));
}

#[tokio::test]
async fn t10_server_and_cors_expose_headers() {
    let server = Server::start().await;
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        let raw = post(
            port,
            "ListTables",
            &["Origin: http://localhost:3000"],
            b"{}",
        );
        assert_eq!(raw.status, 200);
        assert_eq!(raw.header("server"), Some("Server"));
        let exposed = raw
            .header("access-control-expose-headers")
            .unwrap()
            .to_ascii_lowercase();
        for name in ["x-amzn-requestid", "x-amz-crc32", "x-amz-id-2"] {
            assert!(exposed.contains(name), "{name} not exposed: {exposed}");
        }
        // Errors and health checks carry Server too.
        let raw = post(port, "NoSuchOperation", &[], b"{}");
        assert_eq!(raw.header("server"), Some("Server"));
        let raw = send(
            port,
            &format!("GET /_meridian/health HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
            b"",
        );
        assert_eq!(raw.header("server"), Some("Server"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn t10_oversized_request_line_and_headers_get_a_clean_4xx() {
    let server = Server::start().await;
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        let big = "a".repeat(200 * 1024);
        let raw = send(
            port,
            &format!("POST /?{big} HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
            b"{}",
        );
        assert!(matches!(raw.status, 414 | 431), "status {}", raw.status);
        let raw = post(port, "ListTables", &[&format!("X-Padding: {big}")], b"{}");
        assert_eq!(raw.status, 431);
        // The server still answers.
        assert_eq!(post(port, "ListTables", &[], b"{}").status, 200);
    })
    .await
    .unwrap();
}
