//! Shared helpers of the namespace tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use kith_net::testns::TestNetns;

/// How long a test waits for the kernel before failing (generous: the machine is shared).
pub const WAIT: Duration = Duration::from_secs(20);

/// A fresh namespace for one test. Fails the test (never skips it) when not root.
pub fn ns(tag: &str) -> TestNetns {
    TestNetns::new(tag).unwrap_or_else(|e| panic!("{e}"))
}

/// Awaits `fut`, failing the test if it takes longer than [`WAIT`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// Polls `check` until it returns `Some`, failing the test after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    within(what, async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}
