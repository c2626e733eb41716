//! `alcove keys` and `alcove roles`: the access keys of `--auth sigv4` and the policies of
//! roles, managed directly in the data directory's key store (so the first administrator
//! key can be made before the server runs; a running server sees changes within seconds).
//! A key's secret is printed once, when it is made or rotated, and never again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alcove_auth::{KeyStore, Policy, ServerKey};
use anyhow::Context;
use clap::{Args, Subcommand};

/// Where the key store is.
#[derive(Debug, Args)]
pub struct DataDir {
    /// The server's data directory.
    #[arg(long, global = true, env = "ALCOVE_DATA_DIR", default_value = "./.alcove")]
    data_dir: PathBuf,
}

impl DataDir {
    fn open(&self) -> anyhow::Result<KeyStore> {
        let auth = self.data_dir.join("auth");
        let server_key = ServerKey::load_or_create(&auth)
            .with_context(|| format!("opening the server key in {}", auth.display()))?;
        KeyStore::open(&auth, &server_key).map_err(|e| anyhow::anyhow!("opening the key store: {e}"))
    }
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    data: DataDir,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a key; prints its id and secret (shown this once).
    Create {
        /// The key's name: the caller is arn:aws:iam::000000000000:user/NAME.
        #[arg(long)]
        name: Option<String>,
        /// An IAM policy (a file, or the JSON itself) limiting what the key may do;
        /// without one the key is an administrator.
        #[arg(long)]
        policy: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a key: it stops working at once.
    Delete { id: String },
    /// Replace a key by a new one with the same name and policy.
    Rotate {
        id: String,
        /// Seconds the old key keeps working (default 0: it stops at once).
        #[arg(long, default_value_t = 0)]
        grace: u64,
    },
}

#[derive(Debug, Args)]
pub struct RolesArgs {
    #[command(flatten)]
    data: DataDir,
    #[command(subcommand)]
    command: RolesCommand,
}

#[derive(Debug, Subcommand)]
enum RolesCommand {
    /// Attach a policy (a file or the JSON) to a role, replacing any it had.
    PutPolicy { role_arn: String, policy: String },
    /// Print a role's policy.
    GetPolicy { role_arn: String },
    /// Remove a role's policy: its sessions may then do nothing.
    DeletePolicy { role_arn: String },
    /// The roles with a policy.
    List,
}

/// A policy given as a file path or as the JSON itself.
fn read_policy(text: &str) -> anyhow::Result<Policy> {
    let document = if text.trim_start().starts_with('{') {
        text.to_owned()
    } else {
        std::fs::read_to_string(Path::new(text)).with_context(|| format!("reading the policy {text}"))?
    };
    Policy::parse(&document).map_err(|e| anyhow::anyhow!("the policy is invalid: {e}"))
}

fn print_new(new: &alcove_auth::NewKey) {
    println!("AccessKeyId:     {}", new.key.id);
    println!("SecretAccessKey: {}", new.secret);
    println!("Name:            {}", new.key.name);
    println!();
    println!("The secret is shown only now. To use the key:");
    println!("  export AWS_ACCESS_KEY_ID={}", new.key.id);
    println!("  export AWS_SECRET_ACCESS_KEY={}", new.secret);
    println!("or add to ~/.aws/credentials:");
    println!("  [alcove]");
    println!("  aws_access_key_id = {}", new.key.id);
    println!("  aws_secret_access_key = {}", new.secret);
}

pub fn run_keys(args: KeysArgs) -> anyhow::Result<()> {
    let store = args.data.open()?;
    match args.command {
        KeysCommand::Create { name, policy } => {
            let policy = policy.as_deref().map(read_policy).transpose()?;
            let new = store.create(name.as_deref(), policy).map_err(|e| anyhow::anyhow!("{e}"))?;
            print_new(&new);
        }
        KeysCommand::List { json } => {
            let keys = store.list().map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "AccessKeyId": k.id, "Name": k.name, "Created": k.created,
                            "Admin": k.is_admin(), "Policy": k.policy.as_ref().map(|p| p.document().clone()),
                            "Expires": k.expires,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "Keys": list }))?);
            } else {
                println!("{:<22} {:<24} {:<22} ACCESS", "ACCESS KEY ID", "NAME", "CREATED");
                for key in keys {
                    let created = chrono::DateTime::from_timestamp(key.created as i64, 0)
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_default();
                    let access = match (&key.policy, key.expires) {
                        (_, Some(_)) => "expiring (rotated)",
                        (None, None) => "admin",
                        (Some(_), None) => "policy",
                    };
                    println!("{:<22} {:<24} {:<22} {access}", key.id, key.name, created);
                }
            }
        }
        KeysCommand::Delete { id } => {
            if !store.delete(&id).map_err(|e| anyhow::anyhow!("{e}"))? {
                anyhow::bail!("no access key {id}");
            }
            println!("deleted {id}");
        }
        KeysCommand::Rotate { id, grace } => {
            let new =
                store.rotate(&id, Some(Duration::from_secs(grace))).map_err(|e| anyhow::anyhow!("{e}"))?;
            if grace > 0 {
                println!("{id} keeps working for {grace} more seconds.");
            } else {
                println!("{id} is deleted.");
            }
            print_new(&new);
        }
    }
    Ok(())
}

pub fn run_roles(args: RolesArgs) -> anyhow::Result<()> {
    let store = args.data.open()?;
    let failed = |e: alcove_auth::KeyStoreError| anyhow::anyhow!("{e}");
    match args.command {
        RolesCommand::PutPolicy { role_arn, policy } => {
            store.put_role_policy(&role_arn, &read_policy(&policy)?).map_err(failed)?;
        }
        RolesCommand::GetPolicy { role_arn } => match store.role_policy(&role_arn).map_err(failed)? {
            Some(policy) => println!("{}", serde_json::to_string_pretty(policy.document())?),
            None => anyhow::bail!("{role_arn} has no policy (its sessions may do nothing)"),
        },
        RolesCommand::DeletePolicy { role_arn } => {
            if !store.delete_role_policy(&role_arn).map_err(failed)? {
                anyhow::bail!("{role_arn} has no policy");
            }
        }
        RolesCommand::List => {
            for (arn, _) in store.list_role_policies().map_err(failed)? {
                println!("{arn}");
            }
        }
    }
    Ok(())
}
