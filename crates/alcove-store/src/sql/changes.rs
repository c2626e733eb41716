//! Telling every node of a shared store that functions or aliases changed, so none keeps
//! serving what its cache read before the change.
//!
//! A transaction that changes them also sends a PostgreSQL notification, delivered to
//! every listening session when (and only if) it commits. Each node listens on a
//! connection of its own and drops its cache on every notification. While that
//! connection is down the node cannot hear changes, so it drops its cache when it loses
//! the connection and again once it listens anew: whatever changed in between is read
//! afresh. A change reaches every node within the notification's delivery (milliseconds)
//! or, across a lost connection, within the reconnection delay.

use std::sync::Weak;
use std::time::Duration;

use alcove_core::Result;
use alcove_sql::{Dialect, Tx};
use tokio_postgres::AsyncMessage;

use super::rows::sql;
use crate::cache::FunctionCache;

const CHANNEL: &str = "alcove_lambda_changes";

/// Between attempts to listen again after the connection was lost.
const RECONNECT: Duration = Duration::from_secs(1);

/// Announces, within `tx`, that functions or aliases changed (nothing to do on SQLite,
/// whose one server is the only reader).
pub(crate) fn announce(tx: &dyn Tx) -> Result<()> {
    if tx.dialect() == Dialect::Postgres {
        tx.query(&format!("SELECT pg_notify('{CHANNEL}', '')"), &[]).map_err(sql)?;
    }
    Ok(())
}

/// Listens for changes on the PostgreSQL server at `url` for as long as `cache` lives.
pub(crate) fn follow(url: String, cache: Weak<FunctionCache>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&url, &cache).await {
                tracing::warn!(error = %e, "not hearing other nodes' changes; listening again shortly");
            }
            match cache.upgrade() {
                Some(cache) => cache.invalidate(),
                None => return,
            }
            tokio::time::sleep(RECONNECT).await;
        }
    });
}

/// One listening session: returns when its connection ends or the cache is gone.
async fn listen(url: &str, cache: &Weak<FunctionCache>) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let (heard, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if heard.send(()).is_err() {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Whatever changed before this session listened is read afresh.
    match cache.upgrade() {
        Some(cache) => cache.invalidate(),
        None => return Ok(()),
    }
    // Checked now and then, so a dropped store does not keep its session forever.
    let mut alive = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            heard = notifications.recv() => {
                if heard.is_none() {
                    break;
                }
                let Some(cache) = cache.upgrade() else { break };
                cache.invalidate();
            }
            _ = alive.tick() => {
                if cache.strong_count() == 0 {
                    break;
                }
            }
        }
    }
    drop(client);
    driver.await.unwrap_or(Ok(()))
}
