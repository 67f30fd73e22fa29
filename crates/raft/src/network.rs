//! The peer network. Only single-member groups exist so far, so no RPC is ever needed: every
//! peer is reported `Unreachable`, which openraft retries with backoff instead of failing.
//! The hyper + bincode transport replaces this for multi-node groups.

use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use crate::types::{PeerNode, TypeConfig};

/// Creates a [`NoPeers`] client for any target.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoPeersFactory;

/// A client for a peer that cannot be reached.
#[derive(Debug)]
pub(crate) struct NoPeers {
    target: u64,
}

impl NoPeers {
    fn unreachable<E: std::error::Error>(&self) -> RPCError<u64, PeerNode, E> {
        let e = std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            format!("no peer network: node {} is unreachable", self.target),
        );
        RPCError::Unreachable(Unreachable::new(&e))
    }
}

impl RaftNetworkFactory<TypeConfig> for NoPeersFactory {
    type Network = NoPeers;

    async fn new_client(&mut self, target: u64, _node: &PeerNode) -> NoPeers {
        NoPeers { target }
    }
}

impl RaftNetwork<TypeConfig> for NoPeers {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, PeerNode, RaftError<u64>>> {
        Err(self.unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, PeerNode, RaftError<u64, InstallSnapshotError>>,
    > {
        Err(self.unreachable())
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, PeerNode, RaftError<u64>>> {
        Err(self.unreachable())
    }
}
