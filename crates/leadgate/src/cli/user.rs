//! `leadgate user create|passwd|disable|enable|list`: dashboard users.

use super::StoreArgs;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use leadgate_core::access::Role;
use leadgate_store::NewUser;
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Make a user. The password is asked for (or read from the first line of stdin when
    /// stdin is not a terminal).
    Create {
        name: String,
        /// admin, marketing, sales_manager, sales_rep or viewer.
        #[arg(long)]
        role: Role,
        /// The team of a sales manager or rep (their name is the owner name on leads).
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// The dashboard's language for this user.
        #[arg(long, default_value = "en")]
        locale: String,
        /// The time zone the dashboard shows this user's times in (IANA name, such as
        /// Asia/Shanghai).
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// Set a new password (ends the user's sessions).
    Passwd { name: String },
    /// Stop a user signing in (ends their sessions).
    Disable { name: String },
    /// Let a disabled user sign in again.
    Enable { name: String },
    /// List users.
    List,
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        Action::Create {
            name,
            role,
            team,
            display_name,
            locale,
            time_zone,
        } => {
            if !crate::web::i18n::is_supported(&locale) {
                bail!(
                    "locale: '{locale}' is not one of {}",
                    crate::web::i18n::LOCALES.join(", ")
                );
            }
            let password = read_password()?;
            let user = store
                .create_user(NewUser {
                    name,
                    display_name,
                    role,
                    team,
                    locale,
                    time_zone,
                    password,
                })
                .await?;
            println!("created user '{}' ({})", user.name, user.role);
        }
        Action::Passwd { name } => {
            let password = read_password()?;
            if !store.set_password(&name, &password).await? {
                bail!("no user is named '{name}' (see `leadgate user list`)");
            }
            println!("password changed for '{name}'; their sessions were ended");
        }
        Action::Disable { name } => set_disabled(&store, &name, true).await?,
        Action::Enable { name } => set_disabled(&store, &name, false).await?,
        Action::List => {
            println!(
                "{:<20}  {:<14}  {:<12}  {:<6}  {:<20}  status",
                "name", "role", "team", "locale", "time zone"
            );
            for user in store.users().await? {
                println!(
                    "{:<20}  {:<14}  {:<12}  {:<6}  {:<20}  {}",
                    user.name,
                    user.role,
                    user.team.as_deref().unwrap_or("-"),
                    user.locale,
                    user.time_zone,
                    if user.disabled { "disabled" } else { "active" }
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn set_disabled(
    store: &leadgate_store::Store,
    name: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    if !store.set_user_disabled(name, disabled).await? {
        bail!("no user is named '{name}' (see `leadgate user list`)");
    }
    println!(
        "{name} {}",
        if disabled {
            "disabled; their sessions were ended"
        } else {
            "enabled"
        }
    );
    Ok(())
}
