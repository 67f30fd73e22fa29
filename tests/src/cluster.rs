//! A multi-node region for end-to-end tests: several `meridian serve --config` processes on
//! loopback, each with its own config file and data directory in a temporary directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;

use crate::{binary_path, client_for, Server, REGION};

/// The cluster secret the region harness writes into every node's config.
pub const REGION_SECRET: &str = "meridian-tests-cluster-secret";

/// A free loopback port for a region node's config. Picked below the kernel's ephemeral range
/// (32768 and up on Linux), so that the nodes' own outgoing connections, which take ephemeral
/// ports, cannot grab it between this call and the node's bind; never the same port twice in
/// one test process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};
    static HANDED_OUT: OnceLock<Mutex<std::collections::HashSet<u16>>> = OnceLock::new();
    static STATE: AtomicU64 = AtomicU64::new(0);
    let handed_out = HANDED_OUT.get_or_init(Default::default);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let _ = STATE.compare_exchange(0, seed | 1, Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..10_000 {
        // xorshift64
        let mut x = STATE.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        STATE.store(x, Ordering::Relaxed);
        let port = 20_000 + (x % 12_000) as u16;
        let mut taken = handed_out.lock().expect("port set");
        if taken.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.insert(port);
            return port;
        }
    }
    panic!("no free port in 20000..32000");
}

/// One member of a [`Cluster`]: its config file, addresses and (while running) process.
#[derive(Debug)]
pub struct RegionNode {
    pub id: u64,
    pub api_port: u16,
    pub peer_port: u16,
    pub config: PathBuf,
    pub server: Option<Server>,
}

impl RegionNode {
    /// `http://127.0.0.1:<api port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// An SDK client for this node's API (retries off).
    pub fn client(&self) -> Client {
        client_for(&self.url())
    }
}

/// A region of `n` nodes on loopback, each with its own data directory and config file in a
/// temporary directory. Every process is killed when the region is dropped.
#[derive(Debug)]
pub struct Cluster {
    pub nodes: Vec<RegionNode>,
    dir: tempfile::TempDir,
    /// Appended to every node's config (e.g. a `[raft]` section).
    extra_toml: String,
    /// Extra environment variables of every node's process.
    env: Vec<(String, String)>,
}

impl Cluster {
    /// Writes the configs and starts every node (each waits only for its own ready line: a
    /// node is ready before the group has a leader).
    pub async fn start(n: u64) -> Cluster {
        Cluster::start_with(n, "").await
    }

    /// [`Cluster::start`] with `extra_toml` appended to every node's config.
    pub async fn start_with(n: u64, extra_toml: &str) -> Cluster {
        Cluster::start_with_env(n, extra_toml, &[]).await
    }

    /// [`Cluster::start_with`], every node's process (also when restarted) with `env` set.
    pub async fn start_with_env(n: u64, extra_toml: &str, env: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<(u64, u16, u16)> =
            (1..=n).map(|id| (id, free_port(), free_port())).collect();
        let members: Vec<String> = ports
            .iter()
            .map(|(id, api, peer)| {
                format!(
                    "  {{ id = {id}, api_addr = \"127.0.0.1:{api}\", peer_addr = \"127.0.0.1:{peer}\" }},"
                )
            })
            .collect();
        let mut nodes = Vec::new();
        for (id, api, peer) in &ports {
            let data = dir.path().join(format!("n{id}"));
            let text = format!(
                "[node]\nregion = \"{REGION}\"\nid = {id}\napi_addr = \"127.0.0.1:{api}\"\n\
                 peer_addr = \"127.0.0.1:{peer}\"\n\n[storage]\ndata_dir = \"{}\"\n\n\
                 [cluster]\nname = \"test-region\"\nsecret = \"{REGION_SECRET}\"\nmembers = [\n{}\n]\n",
                data.display(),
                members.join("\n")
            ) + extra_toml;
            let config = dir.path().join(format!("n{id}.toml"));
            std::fs::write(&config, text).expect("write config");
            nodes.push(RegionNode {
                id: *id,
                api_port: *api,
                peer_port: *peer,
                config,
                server: None,
            });
        }
        let mut region = Cluster {
            nodes,
            dir,
            extra_toml: extra_toml.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        for i in 0..region.nodes.len() {
            region.restart(i).await;
        }
        region
    }

    /// Writes a config for one more node (its member list: everyone so far plus itself, so it
    /// never initializes a group of its own) and starts it; it waits to be added with
    /// `meridian member add`. Returns its index.
    pub async fn start_extra_node(&mut self) -> usize {
        let id = self.nodes.iter().map(|n| n.id).max().unwrap_or(0) + 1;
        let (api, peer) = (free_port(), free_port());
        let mut members: Vec<String> = self
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "  {{ id = {}, api_addr = \"127.0.0.1:{}\", peer_addr = \"127.0.0.1:{}\" }},",
                    n.id, n.api_port, n.peer_port
                )
            })
            .collect();
        members.push(format!(
            "  {{ id = {id}, api_addr = \"127.0.0.1:{api}\", peer_addr = \"127.0.0.1:{peer}\" }},"
        ));
        let data = self.dir.path().join(format!("n{id}"));
        let text = format!(
            "[node]\nregion = \"{REGION}\"\nid = {id}\napi_addr = \"127.0.0.1:{api}\"\n\
             peer_addr = \"127.0.0.1:{peer}\"\n\n[storage]\ndata_dir = \"{}\"\n\n\
             [cluster]\nname = \"test-region\"\nsecret = \"{REGION_SECRET}\"\nmembers = [\n{}\n]\n",
            data.display(),
            members.join("\n")
        ) + &self.extra_toml;
        let config = self.dir.path().join(format!("n{id}.toml"));
        std::fs::write(&config, text).expect("write config");
        self.nodes.push(RegionNode {
            id,
            api_port: api,
            peer_port: peer,
            config,
            server: None,
        });
        let i = self.nodes.len() - 1;
        self.restart(i).await;
        i
    }

    /// Runs `meridian <args>` to completion; returns (success, stdout + stderr).
    pub async fn run_cli(args: &[String]) -> (bool, String) {
        let bin = binary_path().expect("meridian binary");
        let out = tokio::process::Command::new(bin)
            .args(args)
            .output()
            .await
            .expect("running meridian");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// (Re)starts node index `i` (0-based) from its config and data directory.
    pub async fn restart(&mut self, i: usize) {
        let args = vec![
            "serve".to_owned(),
            "--config".to_owned(),
            self.nodes[i].config.display().to_string(),
        ];
        let launch = crate::Launch {
            env: self.env.clone(),
            ..Default::default()
        };
        let server = tokio::task::spawn_blocking(move || Server::spawn_launched(&args, &launch))
            .await
            .expect("spawn task")
            .expect("starting a region node");
        assert_eq!(server.port(), self.nodes[i].api_port);
        self.nodes[i].server = Some(server);
    }

    /// Sends `signal` (e.g. "STOP", "CONT") to node index `i`.
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.nodes[i]
            .server
            .as_ref()
            .and_then(Server::pid)
            .expect("node is running");
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// SIGKILLs node index `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut server) = self.nodes[i].server.take() {
            server.kill();
        }
    }

    /// The temporary directory holding configs and data.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `key=value` status page of node index `i`, from its peer listener.
    pub async fn status(&self, i: usize) -> anyhow::Result<HashMap<String, String>> {
        let text = peer_get(
            self.nodes[i].peer_port,
            "/admin/status",
            Some(REGION_SECRET),
        )
        .await?;
        anyhow::ensure!(text.0 == 200, "status {}: {}", text.0, text.1);
        Ok(text
            .1
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// Waits until a running node reports itself leader; returns its index.
    pub async fn wait_leader(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            for (i, node) in self.nodes.iter().enumerate() {
                if node.server.is_none() {
                    continue;
                }
                if let Ok(status) = self.status(i).await {
                    if status.get("role").map(String::as_str) == Some("Leader") {
                        return i;
                    }
                }
            }
            assert!(Instant::now() < deadline, "no leader within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A plain HTTP/1.1 GET to a loopback peer listener; returns (status, body).
pub async fn peer_get(
    port: u16,
    path: &str,
    secret: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let header = secret
        .map(|s| format!("x-meridian-cluster-secret: {s}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{header}connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await??;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
