//! Typed configuration: a TOML file, overridden by command-line flags.

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
}

/// Everything a serving node needs, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub node_id: u64,
    pub region: String,
    pub api_addr: SocketAddr,
    /// `None` keeps data in memory.
    pub data_dir: Option<PathBuf>,
    pub cache_bytes: u64,
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
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the values a file or flag could get wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 64
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !region_ok {
            return Err(ConfigError::Region(self.region.clone()));
        }
        if self.node_id == 0 {
            return Err(ConfigError::NodeId);
        }
        if self.cache_bytes == 0 || self.cache_bytes > 65536 * 1024 * 1024 {
            return Err(ConfigError::Cache);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped example config parses and validates.
    #[test]
    fn t10_every_config_file_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let args = ServeArgs {
                config: Some(path.clone()),
                ..ServeArgs::default()
            };
            NodeConfig::resolve(&args).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
        assert!(seen > 0, "no config files found in {}", dir.display());
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
}
