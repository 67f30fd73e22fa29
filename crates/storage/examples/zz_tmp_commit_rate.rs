#![allow(clippy::unwrap_used, missing_docs)]
use meridian_storage::{Space, Store, WriteSet};
use std::time::Instant;
fn main() {
    let dir = std::env::temp_dir().join(format!("zz-commit-rate-{}", std::process::id()));
    for path in [None, Some(dir.as_path())] {
        let store = Store::open(path, 64 << 20).unwrap();
        let n = 200_000u64;
        let t = Instant::now();
        for i in 0..n {
            let mut ws = WriteSet::new();
            ws.put(Space::Items, (i * 7919 % n).to_be_bytes().to_vec(), vec![7; 300]);
            ws.put(Space::Meta, b"count".to_vec(), i.to_be_bytes().to_vec());
            ws.put(Space::SmMeta, b"applied".to_vec(), i.to_be_bytes().to_vec());
            store.commit(ws).unwrap();
        }
        let el = t.elapsed();
        let t = Instant::now();
        let c = store.range(Space::Items, std::ops::Bound::Unbounded, std::ops::Bound::Unbounded, false).count();
        println!("{}: {:.0} commits/s, scan {} in {:?}, size {}", if path.is_none() {"memory"} else {"sled"}, n as f64 / el.as_secs_f64(), c, t.elapsed(), store.size_on_disk().unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
