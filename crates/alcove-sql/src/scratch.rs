//! Throwaway PostgreSQL databases for tests: each test of a store gets a database of its
//! own on the server named by `ALCOVE_TEST_POSTGRES`, so tests run in parallel and a
//! failed one leaves nothing in another's way.

use crate::{Location, SqlError};

/// The variable naming the PostgreSQL server tests may create databases on.
pub const TEST_POSTGRES: &str = "ALCOVE_TEST_POSTGRES";

/// Creates a database with a fresh name on the server at `url` and returns its location.
pub async fn scratch_database(url: &str) -> Result<Location, SqlError> {
    let config: tokio_postgres::Config =
        url.parse().map_err(|e: tokio_postgres::Error| SqlError::Location(url.into(), e.to_string()))?;
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let name = format!("scratch_{}_{nanos}", std::process::id());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    drop(client);
    let _ = driver.await;
    Ok(Location::Postgres(with_dbname(url, &name)))
}

/// `url` with its database path replaced by `name`.
fn with_dbname(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// The locations a store's tests run on: SQLite in memory, and a scratch PostgreSQL
/// database when [`TEST_POSTGRES`] is set.
pub async fn test_locations() -> Vec<Location> {
    let mut locations = vec![Location::Memory];
    if let Ok(url) = std::env::var(TEST_POSTGRES) {
        locations.push(scratch_database(&url).await.expect("creating a scratch PostgreSQL database"));
    }
    locations
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(super::with_dbname("postgres://u@h:5/dev", "x"), "postgres://u@h:5/x");
        assert_eq!(
            super::with_dbname("postgres://u@h/dev?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::with_dbname("postgresql://h", "x"), "postgresql://h/x");
    }
}
