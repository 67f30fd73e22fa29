//! Serves the DynamoDB API over an in-memory [`LocalRegion`] (no Raft) on the port given as
//! the first argument (default 8000), until Ctrl-C. For measuring the API layer on its own.

use std::sync::Arc;

use meridian_api::{serve, LocalRegion};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8000);
    let store = storage::Store::open(None, 64 * 1024 * 1024)?;
    let region = LocalRegion::new(store, "us-east-1", Arc::new(model::SystemClock));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "meridian-api local server on http://{}",
        listener.local_addr()?
    );
    serve(listener, Arc::new(region), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
