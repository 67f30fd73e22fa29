//! Several regions of one node each, as separate `meridian serve --config` processes on
//! loopback, joined for global tables. Every cross-region connection goes through a
//! fault-injecting TCP proxy per (source, destination) pair, so a test can cut a region off
//! while it keeps serving its clients.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::{free_port, peer_get, Server, OPERATION_TIMEOUT_MS};

/// The cluster secret of a lab.
pub const LAB_SECRET: &str = "meridian-tests-global-secret";

/// A TCP proxy on loopback that forwards to `target` until blocked: while blocked it refuses
/// new connections (accepts and closes them) and cuts the open ones.
#[derive(Debug)]
pub struct Proxy {
    pub port: u16,
    blocked: Arc<AtomicBool>,
    /// Bumped on every block, so open connections are cut at once.
    generation: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:target`.
    pub async fn start(target: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("proxy bind");
        let port = listener.local_addr().expect("proxy addr").port();
        let blocked = Arc::new(AtomicBool::new(false));
        let generation = tokio::sync::watch::channel(0u64).0;
        let (b, g) = (blocked.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if b.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut_signal = g.subscribe();
                let b = b.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let (mut ri, mut wi) = inbound.into_split();
                    let (mut ro, mut wo) = outbound.into_split();
                    if b.load(Ordering::SeqCst) {
                        return;
                    }
                    let cut = cut_signal.changed();
                    tokio::select! {
                        _ = tokio::io::copy(&mut ri, &mut wo) => {}
                        _ = tokio::io::copy(&mut ro, &mut wi) => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Proxy {
            port,
            blocked,
            generation,
        }
    }

    /// Cuts the link.
    pub fn block(&self) {
        self.blocked.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Restores the link.
    pub fn unblock(&self) {
        self.blocked.store(false, Ordering::SeqCst);
    }
}

/// One region of a [`Lab`].
#[derive(Debug)]
pub struct LabRegion {
    pub name: String,
    pub api_port: u16,
    pub peer_port: u16,
    pub config: PathBuf,
    pub server: Option<Server>,
}

/// Regions of one node each, replicating through proxies.
#[derive(Debug)]
pub struct Lab {
    pub regions: Vec<LabRegion>,
    /// (source index, destination index) → the proxy the source uses to reach the destination.
    pub proxies: BTreeMap<(usize, usize), Proxy>,
    dir: tempfile::TempDir,
}

impl Lab {
    /// Starts one single-node region per name, each listing the others (through proxies) in
    /// its `[replication]`; anti-entropy every 2 s.
    pub async fn start(names: &[&str]) -> Lab {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<(u16, u16)> = names.iter().map(|_| (free_port(), free_port())).collect();
        let mut proxies = BTreeMap::new();
        for i in 0..names.len() {
            for (j, (_, peer)) in ports.iter().enumerate() {
                if i != j {
                    proxies.insert((i, j), Proxy::start(*peer).await);
                }
            }
        }
        let mut regions = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let (api, peer) = ports[i];
            let mut text = format!(
                "[node]\nregion = \"{name}\"\nid = 1\napi_addr = \"127.0.0.1:{api}\"\n\
                 peer_addr = \"127.0.0.1:{peer}\"\n\n[storage]\ndata_dir = \"{}\"\n\n\
                 [cluster]\nname = \"{name}\"\nsecret = \"{LAB_SECRET}\"\nmembers = [\n  \
                 {{ id = 1, api_addr = \"127.0.0.1:{api}\", peer_addr = \"127.0.0.1:{peer}\" }},\n]\n\n\
                 [replication]\nanti_entropy_interval_ms = 2000\n",
                dir.path().join(name).display()
            );
            for (j, other) in names.iter().enumerate() {
                if i != j {
                    let proxy = &proxies[&(i, j)];
                    text.push_str(&format!(
                        "\n[[replication.regions]]\nname = \"{other}\"\npeers = [\"127.0.0.1:{}\"]\n",
                        proxy.port
                    ));
                }
            }
            let config = dir.path().join(format!("{name}.toml"));
            std::fs::write(&config, text).expect("write config");
            regions.push(LabRegion {
                name: (*name).to_owned(),
                api_port: api,
                peer_port: peer,
                config,
                server: None,
            });
        }
        let mut lab = Lab {
            regions,
            proxies,
            dir,
        };
        for i in 0..names.len() {
            lab.restart(i).await;
        }
        lab
    }

    /// (Re)starts region `i` from its config and data.
    pub async fn restart(&mut self, i: usize) {
        let args = vec![
            "serve".to_owned(),
            "--config".to_owned(),
            self.regions[i].config.display().to_string(),
        ];
        let server = tokio::task::spawn_blocking(move || Server::spawn(&args))
            .await
            .expect("spawn task")
            .expect("starting a region");
        self.regions[i].server = Some(server);
    }

    /// SIGKILLs region `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut server) = self.regions[i].server.take() {
            server.kill();
        }
    }

    /// Cuts region `i` off from every other region, both directions.
    pub fn cut_off(&self, i: usize) {
        for ((src, dst), proxy) in &self.proxies {
            if *src == i || *dst == i {
                proxy.block();
            }
        }
    }

    /// Restores every link.
    pub fn heal(&self) {
        for proxy in self.proxies.values() {
            proxy.unblock();
        }
    }

    /// An SDK client for region `i`, signing for that region.
    pub fn client(&self, i: usize) -> Client {
        let r = &self.regions[i];
        client_in_region(&format!("http://127.0.0.1:{}", r.api_port), &r.name)
    }

    /// The data directory of the lab.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Region `i`'s status page (its peer listener), as lines.
    pub async fn status(&self, i: usize) -> String {
        let (code, body) = peer_get(self.regions[i].peer_port, "/admin/status", Some(LAB_SECRET))
            .await
            .expect("status");
        assert_eq!(code, 200, "{body}");
        body
    }

    /// Region `i`'s Prometheus text.
    pub async fn metrics(&self, i: usize) -> String {
        let (code, body) = peer_get(self.regions[i].peer_port, "/metrics", Some(LAB_SECRET))
            .await
            .expect("metrics");
        assert_eq!(code, 200, "{body}");
        body
    }
}

/// An SDK client for `url` signing for `region` (static test credentials, no retries).
pub fn client_in_region(url: &str, region: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            "AKIDMERIDIANTEST",
            "meridian-test-secret",
            None,
            None,
            "meridian-tests",
        ))
        .endpoint_url(url)
        .http_client(http)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(OPERATION_TIMEOUT_MS))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Every item of `table`, by a consistent Scan, as sorted debug strings (comparable across
/// regions).
pub async fn scan_all(client: &Client, table: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await?;
        for item in page.items() {
            let sorted: BTreeMap<_, _> = crate::normalize_item(item).into_iter().collect();
            out.push(format!("{sorted:?}"));
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    out.sort();
    Ok(out)
}

/// Waits until every client's Scan of `table` is identical twice in a row; returns the items.
/// Panics after `timeout`, showing how the regions differ.
pub async fn wait_converged(clients: &[Client], table: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut previous: Option<Vec<String>> = None;
    loop {
        let mut scans = Vec::new();
        for c in clients {
            scans.push(scan_all(c, table).await.unwrap_or_default());
        }
        let agree = scans.windows(2).all(|w| w[0] == w[1]);
        if agree && previous.as_ref() == scans.first() {
            return scans.swap_remove(0);
        }
        previous = agree.then(|| scans[0].clone());
        if Instant::now() > deadline {
            let counts: Vec<usize> = scans.iter().map(Vec::len).collect();
            let only_first: Vec<&String> = scans[0]
                .iter()
                .filter(|i| scans.iter().skip(1).any(|s| !s.contains(i)))
                .take(5)
                .collect();
            panic!("regions did not converge on {table} within {timeout:?}: item counts {counts:?}; some differences: {only_first:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// PutItem of `{pk: S, v: S}`; panics (failing the test) if it fails.
pub async fn put_v(c: &Client, table: &str, pk: &str, v: &str) {
    c.put_item()
        .table_name(table)
        .item("pk", crate::s(pk))
        .item("v", crate::s(v))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem {pk}={v}: {e:?}"));
}

/// The `v` attribute of item `pk` (None: no item, or the read failed).
pub async fn get_v(c: &Client, table: &str, pk: &str) -> Option<String> {
    let r = c
        .get_item()
        .table_name(table)
        .key("pk", crate::s(pk))
        .send()
        .await
        .ok()?;
    r.item()
        .and_then(|i| crate::get_s(i, "v"))
        .map(str::to_owned)
}

/// Polls until `pk` reads `v` through `c`; panics after `timeout`.
pub async fn wait_value(c: &Client, table: &str, pk: &str, v: Option<&str>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if get_v(c, table, pk).await.as_deref() == v {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pk} did not become {v:?} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
