//! Code packages: the zip a caller uploads is validated and unpacked by
//! `CodeStore::put` into the tree an environment sees as `/var/task`. Whatever the zip
//! holds (absolute names, `..`, links out of the package or through each other, entries
//! that lie about their size, duplicates), nothing may be written outside the store, and
//! no link in an accepted package may resolve outside it.

use std::io::Write;
use std::path::Path;

use alcove_store::CodeStore;
use bolero::TypeGenerator;

use crate::support::no_panic;

/// Unpacks `zip` into a fresh store and checks what it left behind.
fn unpack_and_check(zip: &[u8]) {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let root = scratch.path().join("store");
    let store = CodeStore::open(&root).expect("a code store");
    let result = no_panic(|| store.put(zip));
    let outside: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("listing the scratch directory")
        .map(|e| e.expect("an entry").file_name())
        .filter(|name| name != "store")
        .collect();
    assert!(outside.is_empty(), "the package wrote outside the store: {outside:?}");
    if let Ok(code) = result {
        let tree = store.task_root(&code.sha256_hex);
        let tree = tree.canonicalize().expect("the unpacked tree exists");
        links_stay_inside(&tree, &tree);
    }
}

/// Every link under `dir` that resolves at all resolves inside `tree`.
fn links_stay_inside(tree: &Path, dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("listing the package") {
        let path = entry.expect("an entry").path();
        let kind = std::fs::symlink_metadata(&path).expect("the entry's metadata").file_type();
        if kind.is_symlink() {
            if let Ok(target) = path.canonicalize() {
                assert!(target.starts_with(tree), "{} resolves to {}", path.display(), target.display());
            }
        } else if kind.is_dir() {
            links_stay_inside(tree, &path);
        }
    }
}

/// Any bytes as a package: the corpus holds crafted zips (bombs, traversal, links) that
/// libFuzzer mutates from.
#[test]
fn code_zip_bytes() {
    bolero::check!().with_max_len(1 << 20).for_each(|input: &[u8]| unpack_and_check(input));
}

/// A path component, chosen from the ones that make unpacking interesting.
#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Part {
    A,
    B,
    Parent,
    Current,
    Root,
    Empty,
    Backslash,
    Long,
}

impl Part {
    fn text(self) -> &'static str {
        match self {
            Part::A => "a",
            Part::B => "b",
            Part::Parent => "..",
            Part::Current => ".",
            Part::Root => "/",
            Part::Empty => "",
            Part::Backslash => "..\\x",
            Part::Long => "a-rather-long-file-name.py",
        }
    }
}

fn join(parts: &[Part]) -> String {
    parts.iter().take(6).map(|p| p.text()).collect::<Vec<_>>().join("/")
}

#[derive(Debug, Clone, TypeGenerator)]
enum Kind {
    File {
        data: Vec<u8>,
        mode: u16,
    },
    /// Many zero bytes, which deflate to almost nothing.
    Zeros {
        kib: u16,
    },
    Dir,
    Link {
        target: Vec<Part>,
    },
}

#[derive(Debug, Clone, TypeGenerator)]
struct Entry {
    name: Vec<Part>,
    kind: Kind,
}

/// Writes `entries` as a zip, as any zip tool could.
fn build(entries: &[Entry]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in entries.iter().take(12) {
        let name = join(&entry.name);
        let options = zip::write::SimpleFileOptions::default();
        let written = match &entry.kind {
            Kind::File { data, mode } => writer
                .start_file(name, options.unix_permissions(u32::from(*mode)))
                .and_then(|()| writer.write_all(data).map_err(Into::into)),
            Kind::Zeros { kib } => writer.start_file(name, options).and_then(|()| {
                let zeros = vec![0u8; 1024];
                for _ in 0..(*kib % 2048) {
                    writer.write_all(&zeros)?;
                }
                Ok(())
            }),
            Kind::Dir => writer.add_directory(name, options),
            Kind::Link { target } => writer.add_symlink(name, join(target), options),
        };
        // The writer refuses some names (duplicates); the package is what it accepted.
        if written.is_err() {
            break;
        }
    }
    writer.finish().map(|cursor| cursor.into_inner()).unwrap_or_default()
}

/// Packages built from entries with hostile names, links and sizes.
#[test]
fn code_zip_entries() {
    bolero::check!().with_type::<Vec<Entry>>().for_each(|entries| unpack_and_check(&build(entries)));
}
