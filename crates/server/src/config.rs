//! Typed configuration: a TOML file, overridden by command-line flags.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::ServeArgs;

/// The default API port, as DynamoDB Local uses.
pub const DEFAULT_PORT: u16 = 8000;
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./meridian-data";
/// The default region.
pub const DEFAULT_REGION: &str = "us-east-1";
/// sled's page cache; RSS runs a few times this, so it bounds memory.
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// A configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub node: NodeSection,
    #[serde(default)]
    pub storage: StorageSection,
    /// Present for a multi-node region: the Raft group's members and shared secret.
    pub cluster: Option<ClusterSection>,
    /// Raft tuning; every field is optional.
    #[serde(default)]
    pub raft: RaftSection,
    /// Time to live.
    #[serde(default)]
    pub ttl: TtlSection,
    /// The other regions, for global tables. Requires `[cluster]` (its secret and this node's
    /// peer listener carry cross-region traffic too).
    pub replication: Option<ReplicationSection>,
    /// The API listener's limits and rules.
    #[serde(default)]
    pub api: ApiSection,
    /// Request signing (SigV4): off unless `require = true` or `--require-auth`.
    #[serde(default)]
    pub auth: AuthSection,
}

/// `[auth]`: verify AWS Signature Version 4 on every DynamoDB and Streams request.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Refuse requests that are not signed with one of `keys` (see `--require-auth`).
    pub require: Option<bool>,
    /// The access keys requests may be signed with.
    #[serde(default)]
    pub keys: Vec<AccessKeySection>,
}

/// One `[[auth.keys]]` entry.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessKeySection {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKeySection {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeySection")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// `[api]`: the DynamoDB listener's limits and rules; flags win over these.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Open connections at most (default 512; capped by the file-descriptor limit).
    pub max_connections: Option<usize>,
    /// Milliseconds a client may take to send a body (default 10000).
    pub body_read_timeout_ms: Option<u64>,
    /// Milliseconds a connection may stay idle (default 30000).
    pub idle_timeout_ms: Option<u64>,
    /// CORS origins, comma-separated, or "*" (the default).
    pub cors: Option<String>,
    /// The admin secret (see `--admin-secret`).
    pub admin_secret: Option<String>,
    /// Serve the web console on a non-loopback address too (see `--console-bind-any`).
    pub console_bind_any: Option<bool>,
}

/// Environment variable that supplies the admin secret (after `--admin-secret`).
pub const ADMIN_SECRET_ENV: &str = "MERIDIAN_ADMIN_SECRET";

/// Where a node's admin secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSecretSource {
    /// `--admin-secret`, `MERIDIAN_ADMIN_SECRET` or `[api] admin_secret`.
    Configured,
    /// The cluster secret.
    Cluster,
    /// Generated at start (no other was given).
    Generated,
}

/// The API listener's settings, resolved from flags, the file and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub max_connections: usize,
    pub body_read_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub cors: String,
    pub admin_secret: String,
    pub admin_secret_source: AdminSecretSource,
    /// Serve the web console on a non-loopback address too.
    pub console_bind_any: bool,
    /// The access keys every request must be signed with; `None`: signatures are not
    /// checked.
    pub auth: Option<std::sync::Arc<api::AccessKeys>>,
}

impl ApiConfig {
    /// Merges flags (which win), `MERIDIAN_ADMIN_SECRET`, the file's `[api]` and the cluster
    /// secret.
    pub fn resolve(args: &ServeArgs, node: &NodeConfig) -> Result<ApiConfig, ConfigError> {
        let (file, auth_file) = match &args.config {
            Some(path) => {
                let loaded = FileConfig::load(path)?;
                (loaded.api, loaded.auth)
            }
            None => (ApiSection::default(), AuthSection::default()),
        };
        let auth = resolve_auth(args, auth_file)?;
        let configured = args
            .admin_secret
            .clone()
            .or_else(|| std::env::var(ADMIN_SECRET_ENV).ok())
            .or(file.admin_secret)
            .filter(|s| !s.is_empty());
        let (admin_secret, admin_secret_source) = match (configured, &node.cluster) {
            (Some(secret), _) => (secret, AdminSecretSource::Configured),
            (None, Some(cluster)) => (cluster.secret.clone(), AdminSecretSource::Cluster),
            (None, None) => (
                uuid::Uuid::new_v4().simple().to_string(),
                AdminSecretSource::Generated,
            ),
        };
        let config = ApiConfig {
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(api::MAX_CONNECTIONS_DEFAULT),
            body_read_timeout_ms: args
                .body_read_timeout_ms
                .or(file.body_read_timeout_ms)
                .unwrap_or(api::BODY_READ_TIMEOUT_MS_DEFAULT),
            idle_timeout_ms: args
                .idle_timeout_ms
                .or(file.idle_timeout_ms)
                .unwrap_or(api::CONNECTION_IDLE_TIMEOUT_MS_DEFAULT),
            cors: args
                .cors
                .clone()
                .or(file.cors)
                .unwrap_or_else(|| "*".into()),
            admin_secret,
            admin_secret_source,
            console_bind_any: args.console_bind_any || file.console_bind_any.unwrap_or(false),
            auth,
        };
        if config.max_connections == 0 {
            return Err(ConfigError::Api(
                "max_connections must be at least 1".into(),
            ));
        }
        if config.body_read_timeout_ms == 0 || config.idle_timeout_ms == 0 {
            return Err(ConfigError::Api("timeouts must be at least 1 ms".into()));
        }
        Ok(config)
    }
}

/// The keys of `[[auth.keys]]` and `--auth-key`, when `--require-auth` or `[auth] require`
/// turns checking on.
fn resolve_auth(
    args: &ServeArgs,
    file: AuthSection,
) -> Result<Option<std::sync::Arc<api::AccessKeys>>, ConfigError> {
    let pairs: Vec<(String, String)> = file
        .keys
        .into_iter()
        .map(|k| (k.access_key_id, k.secret_access_key))
        .collect();
    let require = args.require_auth || file.require.unwrap_or(false);
    access_keys(require, pairs, &args.auth_keys)
}

/// The access keys of `meridian dev --require-auth --auth-key AKID:SECRET` (the lab has no
/// config file): None unless `require_auth`.
pub fn resolve_dev_auth(
    require_auth: bool,
    auth_keys: &[String],
) -> Result<Option<std::sync::Arc<api::AccessKeys>>, ConfigError> {
    access_keys(require_auth, Vec::new(), auth_keys)
}

/// `pairs` (from a config file) and the `--auth-key` `specs`, checked; None unless `require`.
fn access_keys(
    require: bool,
    mut pairs: Vec<(String, String)>,
    specs: &[String],
) -> Result<Option<std::sync::Arc<api::AccessKeys>>, ConfigError> {
    let bad = |e: api::AccessKeyError| ConfigError::Auth(e.to_string());
    for spec in specs {
        pairs.push(api::AccessKeys::parse_pair(spec).map_err(bad)?);
    }
    let keys = api::AccessKeys::new(pairs).map_err(bad)?;
    if !require {
        if !keys.is_empty() {
            tracing::warn!(
                "access keys are configured but signatures are not checked: add \
                 --require-auth (or [auth] require = true)"
            );
        }
        return Ok(None);
    }
    if keys.is_empty() {
        return Err(ConfigError::Auth(
            "--require-auth needs at least one access key: --auth-key AKID:SECRET or \
             [[auth.keys]] in the config file"
                .into(),
        ));
    }
    Ok(Some(std::sync::Arc::new(keys)))
}

/// `[ttl]`: the region leader's sweeper of expired items.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TtlSection {
    /// Milliseconds between two sweeps; 0 turns the periodic sweep off (the admin call
    /// `POST /_meridian/ttl/sweep` still runs one). Default 5000.
    pub sweep_interval_ms: Option<u64>,
}

/// `[replication]`: the other regions of the deployment.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReplicationSection {
    /// Period of anti-entropy rounds in ms (0: off). Default 30000.
    pub anti_entropy_interval_ms: Option<u64>,
    /// Every table created becomes global across all regions (what `meridian dev` does).
    pub auto_global: Option<bool>,
    /// Every other region, with the peer addresses (`host:port`) of its nodes.
    pub regions: Vec<RemoteRegionSection>,
}

/// One `[[replication.regions]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RemoteRegionSection {
    pub name: String,
    pub peers: Vec<String>,
}

/// The other regions, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// Region → peer addresses of its nodes.
    pub remotes: BTreeMap<String, Vec<String>>,
    pub anti_entropy_interval_ms: u64,
    pub auto_global: bool,
}

/// `[raft]`: tuning of the region's Raft group.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RaftSection {
    /// Build a snapshot (and compact the log) after this many applied entries. Default 5000.
    pub snapshot_logs_since_last: Option<u64>,
    /// Entries kept in the log behind a snapshot, for followers slightly behind. Default 1000.
    pub max_in_snapshot_log_to_keep: Option<u64>,
}

/// `[cluster]`: the region's Raft group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// A name for the group, in logs.
    pub name: Option<String>,
    /// The shared secret every peer request carries; at least 16 characters, the same on
    /// every member. `secret_file` (the file's contents, trimmed) or the environment variable
    /// `MERIDIAN_CLUSTER_SECRET` may supply it instead; the variable wins, then the file.
    pub secret: Option<String>,
    /// A file holding the secret.
    pub secret_file: Option<PathBuf>,
    /// Every voter of the initial membership, this node included. The lowest id initializes
    /// the group on its first start.
    pub members: Vec<MemberSection>,
}

/// One `[[cluster.members]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSection {
    pub id: u64,
    /// The member's DynamoDB API listener.
    pub api_addr: SocketAddr,
    /// The member's peer (Raft) listener.
    pub peer_addr: SocketAddr,
}

/// `[node]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// The region this node belongs to.
    pub region: Option<String>,
    /// The node's id within its region's Raft group.
    pub id: Option<u64>,
    /// Address of the DynamoDB API listener, e.g. "127.0.0.1:8000".
    pub api_addr: Option<SocketAddr>,
    /// Address of the peer (Raft) listener; required with `[cluster]`.
    pub peer_addr: Option<SocketAddr>,
}

/// `[storage]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    pub data_dir: Option<PathBuf>,
    pub in_memory: Option<bool>,
    /// sled's cache, in MiB.
    pub cache_mib: Option<u64>,
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid host {0:?}")]
    Host(String),
    #[error("invalid region {0:?}: use letters, digits and dashes")]
    Region(String),
    #[error("node id must be at least 1")]
    NodeId,
    #[error("cache_mib must be between 1 and 65536")]
    Cache,
    #[error("invalid [cluster]: {0}")]
    Cluster(String),
    #[error("invalid [raft]: {0}")]
    Raft(String),
    #[error("invalid [replication]: {0}")]
    Replication(String),
    #[error("invalid [api]: {0}")]
    Api(String),
    #[error("invalid [auth]: {0}")]
    Auth(String),
}

/// A multi-node region's group, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    pub name: String,
    pub secret: String,
    /// This node's peer listener.
    pub peer_addr: SocketAddr,
    /// Every member (this node included): id → (api addr, peer addr).
    pub members: BTreeMap<u64, (SocketAddr, SocketAddr)>,
}

/// Environment variable that overrides the config's cluster secret.
pub const SECRET_ENV: &str = "MERIDIAN_CLUSTER_SECRET";

/// Shortest accepted cluster secret.
pub const MIN_SECRET_LEN: usize = 16;

/// Everything a serving node needs, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub node_id: u64,
    pub region: String,
    pub api_addr: SocketAddr,
    /// `None` keeps data in memory.
    pub data_dir: Option<PathBuf>,
    pub cache_bytes: u64,
    /// `None`: a single-node region with no peer listener.
    pub cluster: Option<ClusterConfig>,
    /// Raft tuning from `[raft]`.
    pub raft: RaftSection,
    /// Milliseconds between two TTL sweeps on the region leader (0: none).
    pub ttl_sweep_interval_ms: u64,
    /// The other regions (global tables); `None`: this region stands alone.
    pub replication: Option<ReplicationConfig>,
}

impl FileConfig {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

impl NodeConfig {
    /// Merges the file (if any) and the flags (which win), then validates.
    pub fn resolve(args: &ServeArgs) -> Result<NodeConfig, ConfigError> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let mut api_addr = file
            .node
            .api_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)));
        if let Some(host) = &args.host {
            let ip: IpAddr = host.parse().map_err(|_| ConfigError::Host(host.clone()))?;
            api_addr.set_ip(ip);
        }
        if let Some(port) = args.port {
            api_addr.set_port(port);
        }
        let in_memory = args.in_memory || file.storage.in_memory.unwrap_or(false);
        let data_dir = if in_memory {
            None
        } else {
            Some(
                args.data_dir
                    .clone()
                    .or(file.storage.data_dir)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            )
        };
        let config = NodeConfig {
            node_id: file.node.id.unwrap_or(1),
            region: args
                .region
                .clone()
                .or(file.node.region)
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            api_addr,
            data_dir,
            cache_bytes: file
                .storage
                .cache_mib
                .map(|m| m * 1024 * 1024)
                .unwrap_or(DEFAULT_CACHE_BYTES),
            cluster: match file.cluster {
                Some(cluster) => Some(ClusterConfig::resolve(
                    cluster,
                    file.node.id,
                    file.node.peer_addr,
                )?),
                None => None,
            },
            raft: file.raft,
            ttl_sweep_interval_ms: args
                .ttl_sweep_interval_ms
                .or(file.ttl.sweep_interval_ms)
                .unwrap_or(model::limits::TTL_SWEEP_INTERVAL_MS_DEFAULT),
            replication: file.replication.map(|r| ReplicationConfig {
                remotes: r.regions.into_iter().map(|x| (x.name, x.peers)).collect(),
                anti_entropy_interval_ms: r.anti_entropy_interval_ms.unwrap_or(30_000),
                auto_global: r.auto_global.unwrap_or(false),
            }),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the values a file or flag could get wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_region_name(&self.region) {
            return Err(ConfigError::Region(self.region.clone()));
        }
        if self.node_id == 0 {
            return Err(ConfigError::NodeId);
        }
        if self.cache_bytes == 0 || self.cache_bytes > 65536 * 1024 * 1024 {
            return Err(ConfigError::Cache);
        }
        if self.raft.snapshot_logs_since_last == Some(0) {
            return Err(ConfigError::Raft(
                "snapshot_logs_since_last must be at least 1".into(),
            ));
        }
        if let Some(replication) = &self.replication {
            let bad = |m: String| Err(ConfigError::Replication(m));
            if self.cluster.is_none() {
                return bad(
                    "needs [cluster]: its secret and peer listener carry cross-region traffic"
                        .into(),
                );
            }
            for (name, peers) in &replication.remotes {
                if name == &self.region {
                    return bad(format!("{name} is this node's own region"));
                }
                if !is_region_name(name) {
                    return bad(format!("invalid region name {name:?}"));
                }
                if peers.is_empty() || peers.iter().any(|p| !p.contains(':')) {
                    return bad(format!("region {name} needs peer addresses as host:port"));
                }
            }
        }
        if let Some(cluster) = &self.cluster {
            cluster.validate(self.node_id)?;
            if cluster.peer_addr == self.api_addr {
                return Err(ConfigError::Cluster(
                    "the peer listener must not share the API address".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Letters, digits and dashes, 1 to 64 of them.
pub fn is_region_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl ClusterConfig {
    fn resolve(
        section: ClusterSection,
        node_id: Option<u64>,
        peer_addr: Option<SocketAddr>,
    ) -> Result<ClusterConfig, ConfigError> {
        let bad = |m: &str| ConfigError::Cluster(m.to_owned());
        if node_id.is_none() {
            return Err(bad("[node] id is required with [cluster]"));
        }
        let peer_addr = peer_addr.ok_or_else(|| bad("[node] peer_addr is required"))?;
        let mut members = BTreeMap::new();
        for m in &section.members {
            if members.insert(m.id, (m.api_addr, m.peer_addr)).is_some() {
                return Err(ConfigError::Cluster(format!(
                    "member {} is listed twice",
                    m.id
                )));
            }
        }
        let secret = match (std::env::var(SECRET_ENV).ok(), &section.secret_file) {
            (Some(secret), _) if !secret.is_empty() => secret,
            (_, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| {
                    ConfigError::Cluster(format!("cannot read secret_file {}: {e}", path.display()))
                })?
                .trim()
                .to_owned(),
            _ => section.secret.clone().ok_or_else(|| {
                bad("a secret is required (secret, secret_file or MERIDIAN_CLUSTER_SECRET)")
            })?,
        };
        Ok(ClusterConfig {
            name: section.name.unwrap_or_else(|| "meridian".to_owned()),
            secret,
            peer_addr,
            members,
        })
    }

    /// Checks the membership against this node.
    pub fn validate(&self, node_id: u64) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Cluster(m));
        if self.secret.chars().count() < MIN_SECRET_LEN {
            return bad(format!(
                "secret must be at least {MIN_SECRET_LEN} characters"
            ));
        }
        if self.members.contains_key(&0) {
            return bad("member ids must be at least 1".into());
        }
        match self.members.get(&node_id) {
            None => return bad(format!("this node ({node_id}) is not among the members")),
            Some((_, peer)) if *peer != self.peer_addr => {
                return bad(format!(
                    "member {node_id}'s peer_addr {peer} differs from [node] peer_addr {}",
                    self.peer_addr
                ))
            }
            Some(_) => {}
        }
        let mut addrs = std::collections::BTreeSet::new();
        for (api, peer) in self.members.values() {
            if !addrs.insert(*api) || !addrs.insert(*peer) {
                return bad(format!("address {api} or {peer} is used twice"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_auth_section_and_flags() {
        let file: FileConfig = toml::from_str(
            "[auth]\nrequire = true\n[[auth.keys]]\naccess_key_id = \"AKIDFILE\"\n\
             secret_access_key = \"file-secret\"\n",
        )
        .unwrap();
        assert!(!format!("{:?}", file.auth).contains("file-secret"));
        let args = ServeArgs {
            auth_keys: vec!["AKIDFLAG:flag:secret".into()],
            ..ServeArgs::default()
        };
        let keys = resolve_auth(&args, file.auth.clone()).unwrap().unwrap();
        assert_eq!(keys.len(), 2);
        // Keys alone do not turn checking on.
        assert_eq!(resolve_auth(&args, AuthSection::default()).unwrap(), None);
        // Checking on with no key, a malformed key, or one key twice: refused.
        let on = ServeArgs {
            require_auth: true,
            ..ServeArgs::default()
        };
        assert!(resolve_auth(&on, AuthSection::default()).is_err());
        let malformed = ServeArgs {
            require_auth: true,
            auth_keys: vec!["no-colon".into()],
            ..ServeArgs::default()
        };
        assert!(resolve_auth(&malformed, AuthSection::default()).is_err());
        let twice = ServeArgs {
            auth_keys: vec!["AKIDFILE:x".into()],
            ..ServeArgs::default()
        };
        assert!(resolve_auth(&twice, file.auth).is_err());
    }

    fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                toml_files(&path, out);
            } else if path.extension().and_then(|e| e.to_str()) == Some("toml") {
                out.push(path);
            }
        }
    }

    /// Every shipped example config (in `config/` and its subdirectories) parses and
    /// validates.
    #[test]
    fn t10_every_config_file_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut files = Vec::new();
        toml_files(&dir, &mut files);
        let mut seen = 0;
        for path in files {
            let args = ServeArgs {
                config: Some(path.clone()),
                ..ServeArgs::default()
            };
            NodeConfig::resolve(&args).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
        assert!(seen > 0, "no config files found in {}", dir.display());
    }

    /// docker-compose.yml runs exactly the layout in config/global (3 regions x 3 nodes): one
    /// service per node config, at the address the config gives it, and every region lists
    /// every other region's nodes as its replication peers.
    #[test]
    fn t10_docker_compose_runs_the_global_layout() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let compose: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(root.join("docker-compose.yml")).unwrap(),
        )
        .unwrap();
        assert!(root.join("Dockerfile").is_file());
        let services = compose["services"].as_mapping().unwrap();
        assert_eq!(services.len(), 9);
        let mut used = std::collections::BTreeSet::new();
        let mut regions: BTreeMap<String, Vec<NodeConfig>> = BTreeMap::new();
        for (name, service) in services {
            let name = name.as_str().unwrap();
            assert_eq!(service["build"].as_str(), Some("."), "{name}");
            let mount = service["volumes"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str())
                .find(|v| v.ends_with(":/etc/meridian/node.toml:ro"))
                .unwrap_or_else(|| panic!("{name} mounts no node config"));
            let file = mount.split(':').next().unwrap().trim_start_matches("./");
            assert!(used.insert(file.to_owned()), "{file} is used twice");
            let args = ServeArgs {
                config: Some(root.join(file)),
                ..ServeArgs::default()
            };
            let config = NodeConfig::resolve(&args).unwrap_or_else(|e| panic!("{file}: {e}"));
            let ip = service["networks"]["meridian"]["ipv4_address"]
                .as_str()
                .unwrap();
            assert_eq!(config.api_addr.ip().to_string(), ip, "{name}");
            let cluster = config.cluster.clone().unwrap();
            assert_eq!(cluster.peer_addr.ip().to_string(), ip, "{name}");
            let port = service["ports"][0].as_str().unwrap();
            assert!(
                port.ends_with(&format!(":{}", config.api_addr.port())),
                "{name}: {port}"
            );
            regions
                .entry(config.region.clone())
                .or_default()
                .push(config);
        }
        let mut files = Vec::new();
        toml_files(&root.join("config/global"), &mut files);
        assert_eq!(
            files.len(),
            used.len(),
            "every config/global file has a service"
        );
        assert_eq!(regions.len(), 3);
        for (region, nodes) in &regions {
            assert_eq!(nodes.len(), 3, "{region}");
            for node in nodes {
                let replication = node.replication.clone().unwrap();
                assert_eq!(replication.remotes.len(), 2, "{region}");
                for (other, peers) in &replication.remotes {
                    let mut expected: Vec<String> = regions[other]
                        .iter()
                        .map(|n| n.cluster.as_ref().unwrap().peer_addr.to_string())
                        .collect();
                    expected.sort();
                    let mut peers = peers.clone();
                    peers.sort();
                    assert_eq!(peers, expected, "{region} -> {other}");
                }
                let members = &node.cluster.as_ref().unwrap().members;
                assert_eq!(members.len(), 3);
                assert_eq!(members, &nodes[0].cluster.as_ref().unwrap().members);
            }
        }
    }

    /// The shipped 3-node region: three members that agree on each other.
    #[test]
    fn t10_region_local_is_a_three_node_region() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/region-local");
        let mut clusters = Vec::new();
        for n in 1..=3u64 {
            let args = ServeArgs {
                config: Some(dir.join(format!("n{n}.toml"))),
                ..ServeArgs::default()
            };
            let config = NodeConfig::resolve(&args).unwrap();
            assert_eq!(config.node_id, n);
            assert_eq!(config.api_addr.port(), 8100 + n as u16);
            let cluster = config.cluster.unwrap();
            assert_eq!(cluster.members.len(), 3);
            clusters.push(cluster);
        }
        assert_eq!(clusters[0].members, clusters[1].members);
        assert_eq!(clusters[0].members, clusters[2].members);
        assert_eq!(clusters[0].secret, clusters[2].secret);
    }

    #[test]
    fn t10_bad_clusters_are_refused() {
        let base = |extra: &str| {
            format!(
                "[node]\nid = 1\napi_addr = \"127.0.0.1:8101\"\npeer_addr = \"127.0.0.1:9101\"\n\
                 [storage]\nin_memory = true\n[cluster]\n{extra}"
            )
        };
        let resolve = |text: String| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.toml");
            std::fs::write(&path, text).unwrap();
            NodeConfig::resolve(&ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            })
        };
        let one = "{ id = 1, api_addr = \"127.0.0.1:8101\", peer_addr = \"127.0.0.1:9101\" }";
        let two = "{ id = 2, api_addr = \"127.0.0.1:8102\", peer_addr = \"127.0.0.1:9102\" }";
        let ok = base(&format!(
            "secret = \"0123456789abcdef\"\nmembers = [{one}, {two}]"
        ));
        assert!(resolve(ok).is_ok());
        // Short secret.
        assert!(resolve(base(&format!(
            "secret = \"short\"\nmembers = [{one}, {two}]"
        )))
        .is_err());
        // This node missing.
        assert!(resolve(base(&format!(
            "secret = \"0123456789abcdef\"\nmembers = [{two}]"
        )))
        .is_err());
        // Duplicate member.
        assert!(resolve(base(&format!(
            "secret = \"0123456789abcdef\"\nmembers = [{one}, {one}]"
        )))
        .is_err());
        // The secret from a file.
        let dir = tempfile::tempdir().unwrap();
        let secret_path = dir.path().join("secret");
        std::fs::write(&secret_path, "from-a-file-0123456789\n").unwrap();
        let with_file = resolve(base(&format!(
            "secret_file = \"{}\"\nmembers = [{one}, {two}]",
            secret_path.display()
        )))
        .unwrap();
        if std::env::var(SECRET_ENV).is_err() {
            assert_eq!(with_file.cluster.unwrap().secret, "from-a-file-0123456789");
        }
        // No secret at all.
        if std::env::var(SECRET_ENV).is_err() {
            assert!(resolve(base(&format!("members = [{one}, {two}]"))).is_err());
        }
        // Unknown field.
        assert!(resolve(base(
            "secret = \"0123456789abcdef\"\nmembers = []\nsecrte = 1"
        ))
        .is_err());
    }

    #[test]
    fn t10_unknown_fields_are_refused() {
        assert!(toml::from_str::<FileConfig>("[node]\nregoin = \"x\"").is_err());
    }

    #[test]
    fn t10_flags_override_file() {
        let args = ServeArgs {
            port: Some(9000),
            in_memory: true,
            region: Some("eu-west-1".into()),
            ..ServeArgs::default()
        };
        let config = NodeConfig::resolve(&args).unwrap();
        assert_eq!(config.api_addr.port(), 9000);
        assert_eq!(config.data_dir, None);
        assert_eq!(config.region, "eu-west-1");
        let bad = ServeArgs {
            region: Some("us east".into()),
            ..ServeArgs::default()
        };
        assert!(NodeConfig::resolve(&bad).is_err());
    }

    #[test]
    fn t10_ttl_sweep_interval_from_file_and_flag() {
        let config = NodeConfig::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(
            config.ttl_sweep_interval_ms,
            model::limits::TTL_SWEEP_INTERVAL_MS_DEFAULT
        );
        let file: FileConfig = toml::from_str("[ttl]\nsweep_interval_ms = 250").unwrap();
        assert_eq!(file.ttl.sweep_interval_ms, Some(250));
        let args = ServeArgs {
            ttl_sweep_interval_ms: Some(0),
            ..ServeArgs::default()
        };
        assert_eq!(NodeConfig::resolve(&args).unwrap().ttl_sweep_interval_ms, 0);
        assert!(toml::from_str::<FileConfig>("[ttl]\ninterval = 1").is_err());
    }
}
