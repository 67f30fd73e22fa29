//! The system under test: real `meridian serve --config` processes on loopback, either one
//! region of several nodes (`[cluster]`) or several single-node regions joined by
//! `[replication]` (no proxies: partitions come from `meridian chaos`). Configs live in the
//! run's output directory, data in a temporary directory removed after the run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use meridian_tests::{free_port, peer_get, Server};

/// The cluster secret every config of a run carries.
pub const SECRET: &str = "meridian-jepsen-secret";
/// Longest wait for a node's status page (a paused node accepts and never answers).
const STATUS_TIMEOUT_MS: u64 = 1_000;

/// One `meridian` process.
#[derive(Debug)]
pub struct Node {
    pub region: String,
    /// The `[node] id` (1-based within its region).
    pub id: u64,
    pub api_port: u16,
    pub peer_port: u16,
    pub config: PathBuf,
    pub server: Option<Server>,
    /// SIGSTOPped and not yet continued.
    pub paused: bool,
}

impl Node {
    /// `http://127.0.0.1:<api port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }
}

/// Every node of a run.
#[derive(Debug)]
pub struct Db {
    pub nodes: Vec<Node>,
    /// Region names, in order.
    pub regions: Vec<String>,
    _data: tempfile::TempDir,
    logs: PathBuf,
}

fn member_line(id: u64, api: u16, peer: u16) -> String {
    format!("  {{ id = {id}, api_addr = \"127.0.0.1:{api}\", peer_addr = \"127.0.0.1:{peer}\" }},")
}

fn node_toml(region: &str, id: u64, api: u16, peer: u16, data: &Path, members: &str) -> String {
    format!(
        "[node]\nregion = \"{region}\"\nid = {id}\napi_addr = \"127.0.0.1:{api}\"\n\
         peer_addr = \"127.0.0.1:{peer}\"\n\n[storage]\ndata_dir = \"{}\"\n\n\
         [cluster]\nname = \"{region}\"\nsecret = \"{SECRET}\"\nmembers = [\n{members}\n]\n",
        data.display()
    )
}

impl Db {
    /// One region `region` of `n` nodes; configs written under `out`.
    pub async fn region(region: &str, n: u64, out: &Path) -> anyhow::Result<Db> {
        let data = tempfile::tempdir()?;
        let ports: Vec<(u64, u16, u16)> =
            (1..=n).map(|id| (id, free_port(), free_port())).collect();
        let members: Vec<String> = ports
            .iter()
            .map(|(id, api, peer)| member_line(*id, *api, *peer))
            .collect();
        let mut nodes = Vec::new();
        for (id, api, peer) in &ports {
            let text = node_toml(
                region,
                *id,
                *api,
                *peer,
                &data.path().join(format!("{region}-n{id}")),
                &members.join("\n"),
            );
            let config = out.join(format!("{region}-n{id}.toml"));
            std::fs::write(&config, text)?;
            nodes.push(Node {
                region: region.to_owned(),
                id: *id,
                api_port: *api,
                peer_port: *peer,
                config,
                server: None,
                paused: false,
            });
        }
        Db::launch(nodes, vec![region.to_owned()], data, out).await
    }

    /// Single-node regions named `names`, each replicating to the others (anti-entropy every
    /// 2 s); configs written under `out`.
    pub async fn regions(names: &[&str], out: &Path) -> anyhow::Result<Db> {
        let data = tempfile::tempdir()?;
        let ports: Vec<(u16, u16)> = names.iter().map(|_| (free_port(), free_port())).collect();
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let (api, peer) = ports[i];
            let mut text = node_toml(
                name,
                1,
                api,
                peer,
                &data.path().join(name),
                &member_line(1, api, peer),
            );
            text.push_str("\n[replication]\nanti_entropy_interval_ms = 2000\n");
            for (j, other) in names.iter().enumerate() {
                if i != j {
                    text.push_str(&format!(
                        "\n[[replication.regions]]\nname = \"{other}\"\npeers = [\"127.0.0.1:{}\"]\n",
                        ports[j].1
                    ));
                }
            }
            let config = out.join(format!("{name}.toml"));
            std::fs::write(&config, text)?;
            nodes.push(Node {
                region: (*name).to_owned(),
                id: 1,
                api_port: api,
                peer_port: peer,
                config,
                server: None,
                paused: false,
            });
        }
        let regions = names.iter().map(|s| (*s).to_owned()).collect();
        Db::launch(nodes, regions, data, out).await
    }

    async fn launch(
        nodes: Vec<Node>,
        regions: Vec<String>,
        data: tempfile::TempDir,
        out: &Path,
    ) -> anyhow::Result<Db> {
        let mut db = Db {
            nodes,
            regions,
            _data: data,
            logs: out.to_owned(),
        };
        for i in 0..db.nodes.len() {
            db.start(i).await?;
        }
        Ok(db)
    }

    /// (Re)starts node `i` from its config and data, waiting for its ready line.
    pub async fn start(&mut self, i: usize) -> anyhow::Result<()> {
        let args = vec![
            "serve".to_owned(),
            "--config".to_owned(),
            self.nodes[i].config.display().to_string(),
        ];
        let server = tokio::task::spawn_blocking(move || Server::spawn(&args))
            .await
            .context("spawn task")??;
        self.nodes[i].server = Some(server);
        self.nodes[i].paused = false;
        Ok(())
    }

    /// SIGKILLs node `i` (keeping the tail of its log).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut server) = self.nodes[i].server.take() {
            self.keep_log(i, &server);
            server.kill();
        }
        self.nodes[i].paused = false;
    }

    /// Sends `signal` ("STOP", "CONT") to node `i`.
    pub fn signal(&mut self, i: usize, signal: &str) -> anyhow::Result<()> {
        let pid = self.nodes[i]
            .server
            .as_ref()
            .and_then(Server::pid)
            .context("node is not running")?;
        // kill(1): the workspace forbids unsafe code, so no libc::kill.
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
        self.nodes[i].paused = signal == "STOP";
        Ok(())
    }

    /// Restarts every killed node and continues every paused one.
    pub async fn heal_processes(&mut self) -> anyhow::Result<()> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].paused {
                self.signal(i, "CONT")?;
            }
            if self.nodes[i].server.is_none() {
                self.start(i).await?;
            }
        }
        Ok(())
    }

    /// Indexes of region `region`'s nodes.
    pub fn nodes_of(&self, region: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].region == region)
            .collect()
    }

    /// The node of `region` that reports itself leader, among the running ones.
    pub async fn leader_of(&self, region: &str) -> Option<usize> {
        for i in self.nodes_of(region) {
            let node = &self.nodes[i];
            if node.server.is_none() || node.paused {
                continue;
            }
            let status = tokio::time::timeout(
                Duration::from_millis(STATUS_TIMEOUT_MS),
                peer_get(node.peer_port, "/admin/status", Some(SECRET)),
            )
            .await;
            if let Ok(Ok((200, body))) = status {
                if body.lines().any(|l| l.trim() == "role=Leader") {
                    return Some(i);
                }
            }
        }
        None
    }

    /// A config file to point `meridian chaos` at: a running, unpaused node's if any.
    pub fn any_config(&self) -> PathBuf {
        self.nodes
            .iter()
            .find(|n| n.server.is_some() && !n.paused)
            .unwrap_or(&self.nodes[0])
            .config
            .clone()
    }

    fn keep_log(&self, i: usize, server: &Server) {
        let node = &self.nodes[i];
        let path = self
            .logs
            .join(format!("{}-n{}.stderr.log", node.region, node.id));
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&server.stderr_tail());
        text.push_str("\n--- process ended ---\n");
        let _ = std::fs::write(path, text);
    }

    /// Saves the tail of every running node's stderr to the output directory and stops
    /// every node.
    pub fn shutdown(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].paused {
                let _ = self.signal(i, "CONT");
            }
            self.kill(i);
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.shutdown();
    }
}
