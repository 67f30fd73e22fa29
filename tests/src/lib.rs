//! The end-to-end test harness: spawns the real `meridian` binary and hands out AWS SDK
//! clients pointed at it.
//!
//! The tests under `tests/` drive the binary only through its public protocol (the AWS SDK for
//! Rust, or raw HTTP), never through Meridian's crates, so this package must not depend on
//! any of them: what is tested is what a user runs.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;

pub use aws_sdk_dynamodb;
pub use aws_sdk_dynamodbstreams;

mod cluster;
pub use cluster::*;
mod global;
pub use global::*;

/// Environment variable naming the binary under test; overrides the look-up next to the tests.
pub const MERIDIAN_BIN_ENV: &str = "MERIDIAN_BIN";
/// The line prefix the binary prints on stdout once it accepts requests.
pub const READY_PREFIX: &str = "Meridian ready on ";
/// Longest wait for the ready line (a debug build on a loaded 2-core machine).
pub const READY_TIMEOUT_MS: u64 = 30_000;
/// Longest wait for the process to exit after SIGTERM.
pub const SHUTDOWN_TIMEOUT_MS: u64 = 15_000;
/// Longest any one SDK call may take before the test fails instead of hanging.
pub const OPERATION_TIMEOUT_MS: u64 = 30_000;
/// Longest wait for a table to reach ACTIVE or to disappear.
pub const TABLE_STATUS_TIMEOUT_MS: u64 = 20_000;
/// Lines of the server's stderr echoed when a test fails, to show what the server saw.
const STDERR_TAIL_LINES: usize = 60;
/// Region the clients sign for.
pub const REGION: &str = "us-east-1";

/// Where a spawned server keeps its data.
#[derive(Debug)]
pub enum Storage {
    /// `--in-memory`: nothing on disk.
    InMemory,
    /// `--data-dir DIR`: durable, survives restarts on the same directory.
    Dir(PathBuf),
}

/// A running `meridian` process. Killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    url: String,
    port: u16,
    stderr_path: PathBuf,
    // Holds the stderr log (and nothing else) alive for the life of the server.
    _log_dir: tempfile::TempDir,
}

impl Server {
    /// Starts an in-memory server on a free port. Panics (failing the test) if it cannot.
    pub async fn start() -> Server {
        Server::start_with(Storage::InMemory, &[])
            .await
            .expect("starting meridian")
    }

    /// Starts a durable server on `dir`.
    pub async fn start_on_dir(dir: &Path) -> Server {
        Server::start_with(Storage::Dir(dir.to_owned()), &[])
            .await
            .expect("starting meridian")
    }

    /// Starts the binary with `--port 0`, the given storage and `extra` arguments, and waits
    /// for its ready line.
    pub async fn start_with(storage: Storage, extra: &[&str]) -> anyhow::Result<Server> {
        let mut args: Vec<String> = vec!["--port".into(), "0".into()];
        match &storage {
            Storage::InMemory => args.push("--in-memory".into()),
            Storage::Dir(dir) => {
                args.push("--data-dir".into());
                args.push(dir.display().to_string());
            }
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        // Reading the ready line blocks; keep it off the test's async runtime.
        tokio::task::spawn_blocking(move || Server::spawn(&args))
            .await
            .context("spawn task panicked")?
    }

    /// Spawns the binary with exactly `args` (plus nothing) and waits for the ready line.
    pub fn spawn(args: &[String]) -> anyhow::Result<Server> {
        Server::spawn_launched(args, &Launch::default())
    }

    /// Like [`Server::spawn`], launched as `launch` says (a descriptor limit, environment).
    pub fn spawn_launched(args: &[String], launch: &Launch) -> anyhow::Result<Server> {
        let bin = binary_path()?;
        let log_dir = tempfile::tempdir()?;
        let stderr_path = log_dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path)?;
        let mut command = match launch.fd_limit {
            // `ulimit -n` sets the soft and the hard limit, so the server cannot raise it.
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(&bin);
                sh
            }
            None => Command::new(&bin),
        };
        let mut child = command
            .args(args)
            .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_BACKTRACE", "1")
            // Admin calls (the TTL sweep) need the admin secret.
            .env(ADMIN_SECRET_ENV, TEST_ADMIN_SECRET)
            // Warnings and errors land in the stderr log shown when a test fails; set
            // MERIDIAN_LOG yourself for more.
            .env(
                "MERIDIAN_LOG",
                std::env::var("MERIDIAN_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("child has no stdout")?;
        let (tx, rx) = mpsc::channel::<String>();
        // The reader keeps draining stdout for the life of the process so that later output
        // never blocks the server on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && line.starts_with(READY_PREFIX) {
                    sent = true;
                    let _ = tx.send(line);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_millis(READY_TIMEOUT_MS);
        let line = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => break line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        bail!(
                            "meridian exited with {status} before it was ready; stderr:\n{}",
                            tail(&stderr_path, STDERR_TAIL_LINES)
                        );
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        bail!(
                            "meridian printed no ready line within {READY_TIMEOUT_MS} ms; stderr:\n{}",
                            tail(&stderr_path, STDERR_TAIL_LINES)
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = wait_timeout(&mut child, Duration::from_secs(5))?;
                    bail!(
                        "meridian closed stdout before it was ready (exit: {status:?}); stderr:\n{}",
                        tail(&stderr_path, STDERR_TAIL_LINES)
                    );
                }
            }
        };
        let url = line[READY_PREFIX.len()..]
            .trim()
            .trim_end_matches('/')
            .to_owned();
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .with_context(|| format!("no port in ready line {line:?}"))?;
        anyhow::ensure!(port != 0, "ready line names port 0: {line:?}");
        Ok(Server {
            child: Some(child),
            url,
            port,
            stderr_path,
            _log_dir: log_dir,
        })
    }

    /// Waits up to `timeout` for the process to exit on its own; its status, if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let child = self.child.as_mut().context("server already stopped")?;
        let status = wait_timeout(child, timeout)?;
        if status.is_some() {
            self.child = None;
        }
        Ok(status)
    }

    /// `http://127.0.0.1:<port>` as printed by the server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A client for this server, with retries off so that every error reaches the test.
    pub fn client(&self) -> Client {
        client_for(&self.url)
    }

    /// A DynamoDB Streams client for this server (same endpoint), retries off.
    pub fn streams_client(&self) -> aws_sdk_dynamodbstreams::Client {
        streams_client_for(&self.url)
    }

    /// Runs a TTL sweep now (`POST /_meridian/ttl/sweep`) and returns the response body,
    /// once the sweep's deletes have committed.
    pub async fn sweep_ttl(&self) -> String {
        let port = self.port;
        tokio::task::spawn_blocking(move || post_raw(port, "/_meridian/ttl/sweep"))
            .await
            .expect("sweep task")
            .expect("POST /_meridian/ttl/sweep")
    }

    /// Kills the process with SIGKILL (no chance to flush anything) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("server already stopped")?;
        // `kill(1)` rather than libc: the workspace forbids unsafe code.
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        anyhow::ensure!(sent.success(), "kill -TERM failed");
        match wait_timeout(&mut child, Duration::from_millis(SHUTDOWN_TIMEOUT_MS))? {
            Some(status) => Ok(status),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("meridian did not exit within {SHUTDOWN_TIMEOUT_MS} ms of SIGTERM")
            }
        }
    }

    /// The last lines the server wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr_path, STDERR_TAIL_LINES)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!(
                "--- meridian stderr (last {STDERR_TAIL_LINES} lines) ---\n{}",
                self.stderr_tail()
            );
        }
        self.kill();
    }
}

/// Polls `child` until it exits or `timeout` passes.
fn wait_timeout(child: &mut Child, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last `lines` lines of the file at `path` (reads at most the last 64 KiB).
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The binary under test: `$MERIDIAN_BIN`, else `meridian` in the target directory that holds
/// this test executable (`target/<profile>/deps/<test>` → `target/<profile>/meridian`).
pub fn binary_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(MERIDIAN_BIN_ENV) {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "{MERIDIAN_BIN_ENV}={} is not a file",
            path.display()
        );
        return Ok(path);
    }
    let exe = std::env::current_exe()?;
    let mut candidates = Vec::new();
    for dir in exe.ancestors().skip(1).take(3) {
        candidates.push(dir.join(format!("meridian{}", std::env::consts::EXE_SUFFIX)));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no meridian binary next to {}; build it first (`cargo build -p meridian-server`) \
             or set {MERIDIAN_BIN_ENV}",
                exe.display()
            )
        })
}

/// An SDK client for `url` with static test credentials, region us-east-1, plain HTTP,
/// no retries and an operation timeout.
pub fn client_for(url: &str) -> Client {
    client_in_region(url, REGION)
}

/// A DynamoDB Streams client for the server at `url`, with retries off.
pub fn streams_client_for(url: &str) -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config as sc;
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = sc::Config::builder()
        .behavior_version(sc::BehaviorVersion::latest())
        .region(sc::Region::new(REGION))
        .credentials_provider(sc::Credentials::new(
            "AKIDMERIDIANTEST",
            "meridian-test-secret",
            None,
            None,
            "meridian-tests",
        ))
        .endpoint_url(url)
        .http_client(http)
        .retry_config(sc::retry::RetryConfig::disabled())
        .timeout_config(
            sc::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(OPERATION_TIMEOUT_MS))
                .build(),
        )
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

/// POSTs an empty body to `path` on 127.0.0.1:`port` and returns the response body; fails
/// unless the status is 200.
/// How [`Server::spawn_launched`] starts the binary, beyond its arguments.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Run under `ulimit -n <limit>` (soft and hard).
    pub fd_limit: Option<u32>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// The environment variable that gives a spawned node its admin secret.
pub const ADMIN_SECRET_ENV: &str = "MERIDIAN_ADMIN_SECRET";
/// The admin secret of every node the tests spawn.
pub const TEST_ADMIN_SECRET: &str = "meridian-test-admin-secret";

fn post_raw(port: u16, path: &str) -> anyhow::Result<String> {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_millis(OPERATION_TIMEOUT_MS)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         x-meridian-admin-secret: {TEST_ADMIN_SECRET}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no end of headers")?;
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    Ok(body.to_owned())
}

// ---------------------------------------------------------------------------------------
// Attribute value and item shorthands.

/// A string attribute.
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A number attribute, given as its decimal text.
pub fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

/// A number attribute from an integer.
pub fn ni(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A binary attribute.
pub fn b(v: &[u8]) -> AttributeValue {
    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(v.to_vec()))
}

/// A string set.
pub fn ss(v: &[&str]) -> AttributeValue {
    AttributeValue::Ss(v.iter().map(|x| (*x).to_owned()).collect())
}

/// A number set.
pub fn ns(v: &[&str]) -> AttributeValue {
    AttributeValue::Ns(v.iter().map(|x| (*x).to_owned()).collect())
}

/// A list.
pub fn l(v: Vec<AttributeValue>) -> AttributeValue {
    AttributeValue::L(v)
}

/// A map.
pub fn m(pairs: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(item(pairs))
}

/// An item (or key, or ExpressionAttributeValues map) from pairs.
pub fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A `#name` → name map for ExpressionAttributeNames.
pub fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Sorts the members of sets (recursively), whose order DynamoDB does not preserve, so two
/// items can be compared with `==`.
pub fn normalize(value: &AttributeValue) -> AttributeValue {
    match value {
        AttributeValue::Ss(v) => {
            let mut v = v.clone();
            v.sort();
            AttributeValue::Ss(v)
        }
        AttributeValue::Ns(v) => {
            let mut v = v.clone();
            v.sort();
            AttributeValue::Ns(v)
        }
        AttributeValue::Bs(v) => {
            let mut v = v.clone();
            v.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
            AttributeValue::Bs(v)
        }
        AttributeValue::L(v) => AttributeValue::L(v.iter().map(normalize).collect()),
        AttributeValue::M(v) => AttributeValue::M(normalize_item(v)),
        other => other.clone(),
    }
}

/// [`normalize`] applied to every attribute of an item.
pub fn normalize_item(item: &HashMap<String, AttributeValue>) -> HashMap<String, AttributeValue> {
    item.iter()
        .map(|(k, v)| (k.clone(), normalize(v)))
        .collect()
}

/// The string value of attribute `name`, if it is an S.
pub fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The number text of attribute `name`, if it is an N.
pub fn get_n<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .map(String::as_str)
}

// ---------------------------------------------------------------------------------------
// Tables.

/// A key attribute: name and scalar type.
pub type KeyAttr<'a> = (&'a str, ScalarAttributeType);

/// Creates an on-demand table with the given hash key and optional range key and waits until
/// it is ACTIVE.
pub async fn create_table(
    client: &Client,
    name: &str,
    hash: KeyAttr<'_>,
    range: Option<KeyAttr<'_>>,
) {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr_def(hash.0, hash.1.clone()))
        .key_schema(key_elem(hash.0, KeyType::Hash));
    if let Some((range_name, range_type)) = range {
        req = req
            .attribute_definitions(attr_def(range_name, range_type))
            .key_schema(key_elem(range_name, KeyType::Range));
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("CreateTable {name}: {e:?}"));
    wait_active(client, name).await;
}

/// `pk` (S) hash key only.
pub async fn create_simple_table(client: &Client, name: &str) {
    create_table(client, name, ("pk", ScalarAttributeType::S), None).await;
}

/// `pk` (S) hash key and `sk` (N) range key.
pub async fn create_composite_table(client: &Client, name: &str) {
    create_table(
        client,
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
}

/// An attribute definition.
pub fn attr_def(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .expect("attribute definition")
}

/// A key schema element.
pub fn key_elem(name: &str, ty: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(ty)
        .build()
        .expect("key schema element")
}

/// Polls DescribeTable until the table (and every index) is ACTIVE.
pub async fn wait_active(client: &Client, name: &str) {
    let deadline = Instant::now() + Duration::from_millis(TABLE_STATUS_TIMEOUT_MS);
    loop {
        let desc = client.describe_table().table_name(name).send().await;
        if let Ok(desc) = &desc {
            let table = desc.table().expect("DescribeTable has Table");
            let indexes_active = table
                .global_secondary_indexes()
                .iter()
                .all(|g| g.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
            if table.table_status() == Some(&TableStatus::Active) && indexes_active {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "table {name} not ACTIVE in time: {desc:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls DescribeTable until it answers ResourceNotFoundException.
pub async fn wait_gone(client: &Client, name: &str) {
    let deadline = Instant::now() + Duration::from_millis(TABLE_STATUS_TIMEOUT_MS);
    loop {
        match client.describe_table().table_name(name).send().await {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return
            }
            other => assert!(
                Instant::now() < deadline,
                "table {name} still there: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The DynamoDB error code (`__type` after the `#`) of a failed SDK call, or a description of
/// why there is none (a transport failure, a client-side construction error…).
pub fn error_code<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(service) => service.code().unwrap_or("<no code>").to_owned(),
        None => format!("<not a service error: {err:?}>"),
    }
}

/// Asserts that `result` failed with DynamoDB error code `code` and returns the error message.
#[track_caller]
pub fn expect_error<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
    code: &str,
) -> String
where
    T: std::fmt::Debug,
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(v) => panic!("expected {code}, but the call succeeded: {v:?}"),
        Err(e) => {
            let got = error_code(&e);
            assert_eq!(got, code, "wrong error; full error: {e:?}");
            e.as_service_error()
                .and_then(|s| s.message())
                .unwrap_or_default()
                .to_owned()
        }
    }
}
