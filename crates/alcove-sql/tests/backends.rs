//! The same statements on both backends: SQLite always, PostgreSQL when
//! `ALCOVE_TEST_POSTGRES` names a database (a URL) the tests may create schemas in.

use alcove_sql::{Database, Location, Migration, MigrationError, Migrations, SqlError, Tx};

fn locations() -> Vec<Location> {
    let mut found = vec![Location::Memory];
    if let Ok(url) = std::env::var("ALCOVE_TEST_POSTGRES") {
        found.push(Location::Postgres(url));
    }
    found
}

/// A schema name no other run uses, so runs against one database do not meet.
fn unique(prefix: &str) -> &'static str {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    Box::leak(format!("{prefix}_{}_{nanos}", std::process::id()).into_boxed_str())
}

fn migrations(schema: &'static str, steps: &'static [Migration]) -> &'static Migrations {
    Box::leak(Box::new(Migrations { schema, steps, legacy_table: None }))
}

const COUNTERS: &[Migration] = &[
    Migration {
        sqlite: "CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL, data BLOB, ratio REAL);",
        postgres: "CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL, data BYTEA, ratio DOUBLE PRECISION);",
    },
    Migration {
        sqlite: "ALTER TABLE counters ADD COLUMN note TEXT;",
        postgres: "ALTER TABLE counters ADD COLUMN note TEXT;",
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_round_trip_and_constraints_are_recognised() {
    for location in locations() {
        let (db, migrated) =
            Database::open(&location, "t.db", migrations(unique("values"), COUNTERS)).await.unwrap();
        assert_eq!((migrated.from, migrated.to), (0, 2));
        db.write(|tx: &dyn Tx| {
            tx.execute(
                "INSERT INTO counters (name, n, data, ratio, note) VALUES (?1, ?2, ?3, ?4, ?5)",
                &[&"a", &-7i64, &vec![0u8, 159, 255], &0.5f64, &None::<String>],
            )?;
            Ok::<_, SqlError>(())
        })
        .await
        .unwrap();
        let row = db
            .read(|tx: &dyn Tx| {
                tx.query_one("SELECT name, n, data, ratio, note FROM counters WHERE name = ?1", &[&"a"])
            })
            .await
            .unwrap();
        assert_eq!(row.get::<String>(0).unwrap(), "a");
        assert_eq!(row.get::<i64>(1).unwrap(), -7);
        assert_eq!(row.get::<Vec<u8>>(2).unwrap(), vec![0, 159, 255]);
        assert_eq!(row.get::<f64>(3).unwrap(), 0.5);
        assert_eq!(row.get::<Option<String>>(4).unwrap(), None);
        let duplicate = db
            .write(|tx: &dyn Tx| tx.execute("INSERT INTO counters (name, n) VALUES (?1, 1)", &[&"a"]))
            .await
            .unwrap_err();
        assert!(duplicate.is_unique_violation(), "{location:?}: {duplicate}");
        // A failed unit of work leaves nothing behind.
        let failed: Result<(), SqlError> = db
            .write(|tx: &dyn Tx| {
                tx.execute("INSERT INTO counters (name, n) VALUES ('b', 1)", &[])?;
                Err(SqlError::NoRow)
            })
            .await;
        assert!(failed.is_err());
        let count = db.read(|tx: &dyn Tx| tx.query_one("SELECT COUNT(*) FROM counters", &[])).await.unwrap();
        assert_eq!(count.get::<i64>(0).unwrap(), 1, "{location:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_are_serialized() {
    for location in locations() {
        let (db, _) =
            Database::open(&location, "t.db", migrations(unique("serial"), COUNTERS)).await.unwrap();
        db.write(|tx: &dyn Tx| tx.execute("INSERT INTO counters (name, n) VALUES ('c', 0)", &[]))
            .await
            .unwrap();
        // Read-modify-write from many tasks at once: none may be lost.
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(|tx: &dyn Tx| {
                        let n: i64 = tx.query_one("SELECT n FROM counters WHERE name = 'c'", &[])?.get(0)?;
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        tx.execute("UPDATE counters SET n = ?1 WHERE name = 'c'", &[&(n + 1)])
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let n = db.read(|tx: &dyn Tx| tx.query_one("SELECT n FROM counters", &[])).await.unwrap();
        assert_eq!(n.get::<i64>(0).unwrap(), 32, "{location:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_newer_schema_is_refused_and_a_failed_step_undone() {
    for location in locations() {
        let schema = unique("versions");
        let dir = tempfile::tempdir().unwrap();
        let location = match location {
            Location::Memory => Location::Sqlite(dir.path().to_path_buf()),
            other => other,
        };
        Database::open(&location, "v.db", migrations(schema, COUNTERS)).await.unwrap();
        // An older build knows only the first step.
        match Database::open(&location, "v.db", migrations(schema, &COUNTERS[..1])).await {
            Err(MigrationError::Newer { found: 2, known: 1 }) => {}
            Err(other) => panic!("{location:?}: {other}"),
            Ok(_) => panic!("{location:?}: a newer schema was opened"),
        }
        let broken: &'static [Migration] = Box::leak(Box::new([
            COUNTERS[0],
            COUNTERS[1],
            Migration {
                sqlite: "CREATE TABLE x (a INTEGER); SELECT * FROM missing;",
                postgres: "CREATE TABLE x (a BIGINT); SELECT * FROM missing;",
            },
        ]));
        match Database::open(&location, "v.db", migrations(schema, broken)).await {
            Err(MigrationError::Step { version: 3, .. }) => {}
            Err(other) => panic!("{location:?}: {other}"),
            Ok(_) => panic!("{location:?}: a broken step was applied"),
        }
        let (_, again) = Database::open(&location, "v.db", migrations(schema, COUNTERS)).await.unwrap();
        assert_eq!((again.from, again.to), (2, 2), "{location:?}");
    }
}
