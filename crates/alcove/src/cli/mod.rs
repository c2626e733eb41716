//! Sub-commands that talk to a running server over its HTTP API: usage reports,
//! per-tenant limits, the live list of environments, dead letters, function logs.

pub mod cluster;
pub mod dead_letters;
pub mod envs;
pub mod logs;
pub mod tenant_limits;
pub mod usage;

use clap::Args;
use serde_json::Value;

/// Where the server is.
#[derive(Debug, Args)]
pub struct Endpoint {
    /// The server's URL.
    #[arg(long, global = true, env = "ALCOVE_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,
}

impl Endpoint {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint.trim_end_matches('/'))
    }

    /// Sends a request; returns the JSON answer, or the server's error message.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut url = self.url(path);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{}={}", encode(key), encode(value)));
        }
        let mut request = ureq::request(method, &url);
        let bytes = match &body {
            Some(body) => serde_json::to_vec(body)?,
            None => Vec::new(),
        };
        // Signed with the AWS credentials of the environment, for servers run `--auth sigv4`.
        if let (Ok(key), Ok(secret)) =
            (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY"))
        {
            let token = std::env::var("AWS_SESSION_TOKEN").ok();
            let region = std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|_| "us-east-1".into());
            let credentials = alcove_auth::sigv4::ClientCredentials {
                access_key_id: &key,
                secret_access_key: &secret,
                session_token: token.as_deref(),
            };
            let headers = alcove_auth::sigv4::sign_headers(
                method,
                &url,
                &bytes,
                credentials,
                &region,
                "lambda",
                std::time::SystemTime::now(),
            )
            .map_err(|e| anyhow::anyhow!("signing the request: {e}"))?;
            for (name, value) in headers {
                request = request.set(&name, &value);
            }
        }
        let answer = match body {
            Some(_) => request.set("content-type", "application/json").send_bytes(&bytes),
            None => request.call(),
        };
        match answer {
            Ok(response) if response.status() == 204 => Ok(Value::Null),
            Ok(response) => Ok(response.into_json()?),
            Err(ureq::Error::Status(status, response)) => {
                let kind = response.header("x-amzn-ErrorType").unwrap_or("error").to_owned();
                let message = response
                    .into_json::<Value>()
                    .ok()
                    .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                anyhow::bail!("{kind} ({status}): {message}")
            }
            Err(e) => anyhow::bail!("cannot reach {}: {e}", self.endpoint),
        }
    }
}

/// Percent-encodes a query member as SigV4 canonicalises it (unreserved characters kept).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Output formats of the reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Prints rows as an aligned table or CSV.
pub fn print_rows(format: Format, header: &[&str], rows: &[Vec<String>]) {
    match format {
        Format::Csv => {
            println!("{}", header.join(","));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
                println!("{}", cells.join(","));
            }
        }
        _ => {
            let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
            for row in rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            let line = |cells: Vec<&str>| {
                let padded: Vec<String> =
                    cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
                println!("{}", padded.join("  ").trim_end());
            };
            line(header.to_vec());
            for row in rows {
                line(row.iter().map(String::as_str).collect());
            }
        }
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}
