//! The functions every system runs: a native echo (the `lambda-echo` fixture, built on the
//! official `lambda_runtime` crate), the `lambda-counter` fixture (it tells whether an
//! environment is still warm), and a Node.js echo.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use zip::write::SimpleFileOptions;

/// The Node.js echo as Alcove runs it (`nodejs22.x`, ES module).
pub const NODE_ECHO_ESM: &str = "export const handler = async (event) => event;\n";
/// The same handler as CommonJS, for emulators that cannot load ES modules.
pub const NODE_ECHO_CJS: &str = "exports.handler = async (event) => event;\n";

/// Built binaries the benchmarks deploy.
pub struct Binaries {
    pub echo: Vec<u8>,
    pub counter: Vec<u8>,
}

impl Binaries {
    /// Reads `lambda-echo` and `bootstrap` (lambda-counter) from `dir`, the build's output
    /// directory.
    pub fn load(dir: &Path) -> anyhow::Result<Binaries> {
        let read = |name: &str| {
            let path: PathBuf = dir.join(name);
            std::fs::read(&path)
                .with_context(|| format!("reading {} (build it with cargo build --release)", path.display()))
        };
        Ok(Binaries { echo: read("lambda-echo")?, counter: read("bootstrap")? })
    }
}

/// A zip of `files`: (name, content, unix mode).
pub fn zip(files: &[(&str, &[u8], u32)]) -> anyhow::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content, mode) in files {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        writer.start_file(*name, options)?;
        writer.write_all(content)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// A `provided.al2023` package whose `bootstrap` is `binary`.
pub fn native_package(binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    zip(&[("bootstrap", binary, 0o755)])
}

/// A `nodejs22.x` package with the echo as `index.mjs`.
pub fn node_package() -> anyhow::Result<Vec<u8>> {
    zip(&[("index.mjs", NODE_ECHO_ESM.as_bytes(), 0o644)])
}
