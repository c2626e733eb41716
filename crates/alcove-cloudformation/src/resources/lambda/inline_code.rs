//! `Code.ZipFile`: a function's source written inline in the template. As CloudFormation
//! does, the text becomes the one file of a zip archive, `index.js` for Node.js runtimes
//! and `index.py` for Python, readable by all (0644), so a handler `index.handler` finds it.

use std::io::{Cursor, Write};

use base64::Engine;
use zip::write::SimpleFileOptions;

use crate::resource::ResourceError;

/// The file name inline source gets for a runtime.
pub fn file_name(runtime: Option<&str>) -> Result<&'static str, ResourceError> {
    match runtime {
        Some(r) if r.starts_with("nodejs") => Ok("index.js"),
        Some(r) if r.starts_with("python") => Ok("index.py"),
        _ => Err(ResourceError::InvalidProperties(
            "ZipFile can only be used when Runtime is set to either of nodejs or python runtimes".into(),
        )),
    }
}

/// The zip archive, base64-encoded as CreateFunction's `Code.ZipFile` takes it.
pub fn archive(runtime: Option<&str>, source: &str) -> Result<String, ResourceError> {
    let name = file_name(runtime)?;
    let failed =
        |e: &dyn std::fmt::Display| ResourceError::Service(format!("Building the code archive failed: {e}"));
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    writer.start_file(name, options).map_err(|e| failed(&e))?;
    writer.write_all(source.as_bytes()).map_err(|e| failed(&e))?;
    let bytes = writer.finish().map_err(|e| failed(&e))?.into_inner();
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn unzip(encoded: &str) -> Vec<(String, Option<u32>, String)> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).unwrap();
                let mut text = String::new();
                file.read_to_string(&mut text).unwrap();
                (file.name().to_owned(), file.unix_mode(), text)
            })
            .collect()
    }

    #[test]
    fn node_source_becomes_index_js() {
        let files = unzip(&archive(Some("nodejs22.x"), "exports.handler = async () => 1;").unwrap());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "index.js");
        assert_eq!(files[0].1.map(|m| m & 0o777), Some(0o644));
        assert_eq!(files[0].2, "exports.handler = async () => 1;");
    }

    #[test]
    fn python_source_becomes_index_py() {
        let files = unzip(&archive(Some("python3.12"), "def handler(e, c):\n    return 1\n").unwrap());
        assert_eq!(
            (files[0].0.as_str(), files[0].2.as_str()),
            ("index.py", "def handler(e, c):\n    return 1\n")
        );
    }

    #[test]
    fn other_runtimes_cannot_take_inline_code() {
        assert!(matches!(archive(Some("java21"), "x"), Err(ResourceError::InvalidProperties(_))));
        assert!(archive(None, "x").is_err());
    }
}
