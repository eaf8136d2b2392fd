//! `leadgate team`, `leadgate rep`, `leadgate assign` and `leadgate sla`: who works the leads,
//! when, and how fast they answer.

use super::StoreArgs;
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_store::RepInput;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TeamArgs {
    #[command(subcommand)]
    action: TeamAction,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum TeamAction {
    /// Create or replace team NAME with the business-hours calendar in a JSON file
    /// (`{"timezone": "...", "hours": {"mon": ["09:00-17:00"], ...}, "holidays": [...]}`).
    Put {
        name: String,
        #[arg(long)]
        calendar: PathBuf,
        #[arg(long)]
        manager: Option<String>,
    },
    /// List the teams with their calendars.
    List,
}

#[derive(Debug, Args)]
pub struct RepArgs {
    #[command(subcommand)]
    action: RepAction,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum RepAction {
    /// Create or change rep NAME.
    Put {
        name: String,
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: Option<String>,
        /// Their share under weighted routing (2 takes twice the leads of 1).
        #[arg(long, default_value_t = 1.0)]
        weight: f64,
        /// The most leads routing gives them in a day.
        #[arg(long)]
        cap: Option<i32>,
        /// Away: routing skips them.
        #[arg(long)]
        away: bool,
    },
    /// List reps with today's assignments.
    List {
        #[arg(long)]
        team: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    lead: leadgate_core::id::LeadId,
    owner: String,
    /// Why (required; recorded on the lead).
    #[arg(long)]
    reason: String,
    #[arg(long, default_value = "cli")]
    by: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SlaArgs {
    #[command(subcommand)]
    action: SlaAction,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum SlaAction {
    /// Compliance per owner, team, stage, rule, channel or temperature.
    Report {
        #[arg(long, default_value = "owner")]
        by: String,
        /// Clocks started from this RFC 3339 time.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Running clocks by deadline, nearest first.
    Clocks {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn time(flag: &str, raw: Option<&str>) -> anyhow::Result<Option<DateTime<Utc>>> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .with_context(|| format!("--{flag} '{raw}' is not an RFC 3339 time"))
    })
    .transpose()
}

pub async fn team(args: TeamArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        TeamAction::Put {
            name,
            calendar,
            manager,
        } => {
            let text = std::fs::read_to_string(&calendar)
                .with_context(|| format!("cannot read {}", calendar.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", calendar.display()))?;
            let parsed = BusinessCalendar::parse(&value, "")
                .map_err(|errors| super::field_errors(Some(&calendar), errors))?;
            let new = store.put_team(&name, &parsed, manager.as_deref()).await?;
            println!(
                "team '{name}' {} ({})",
                if new { "created" } else { "replaced" },
                parsed.timezone
            );
        }
        TeamAction::List => {
            for team in store.teams().await? {
                println!(
                    "{:<20} {:<24} manager {}",
                    team.name,
                    team.calendar.timezone,
                    team.manager.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}

pub async fn rep(args: RepArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        RepAction::Put {
            name,
            team,
            email,
            weight,
            cap,
            away,
        } => {
            let rep = RepInput {
                team,
                email,
                weight,
                daily_cap: cap,
                away,
            };
            let new = store.put_rep(&name, &rep).await?;
            println!(
                "rep '{name}' {} in team {}{}",
                if new { "added" } else { "updated" },
                rep.team,
                if away { " (away)" } else { "" }
            );
        }
        RepAction::List { team } => {
            for rep in store.reps(team.as_deref()).await? {
                println!(
                    "{:<20} {:<16} weight {:<4} cap {:<5} today {:<4} {}",
                    rep.name,
                    rep.team,
                    rep.weight,
                    rep.daily_cap.map_or("-".into(), |c| c.to_string()),
                    rep.assigned_today,
                    if rep.away { "away" } else { "" }
                );
            }
        }
    }
    Ok(())
}

pub async fn assign(args: AssignArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let lead = leadgate_app::route::reassign(
        &store,
        args.lead,
        &args.owner,
        &args.reason,
        &args.by,
        &leadgate_core::access::LeadScope::All,
    )
    .await?;
    println!(
        "lead {} is now {}'s",
        lead.id,
        lead.lead.owner.as_ref().map_or("nobody", |o| o.as_str())
    );
    Ok(())
}

pub async fn route(args: RouteArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let started = std::time::Instant::now();
    let (routed, left) = leadgate_app::route::route_waiting(&store, Utc::now()).await?;
    println!(
        "routed {routed} MQLs without an owner in {:.1} s; {left} still wait (no rule holds, or no rep is available)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn sla(args: SlaArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        SlaAction::Report { by, from, to } => {
            let from = time("from", from.as_deref())?;
            let to = time("to", to.as_deref())?;
            println!(
                "{:<24} {:>7} {:>7} {:>9} {:>8} {:>11}",
                by, "clocks", "met", "breached", "running", "compliance"
            );
            for group in store.sla_compliance(&by, from, to).await? {
                println!(
                    "{:<24} {:>7} {:>7} {:>9} {:>8} {:>11}",
                    group.key.as_deref().unwrap_or("(none)"),
                    group.clocks,
                    group.met,
                    group.breached,
                    group.running,
                    group
                        .compliance
                        .map_or("-".into(), |c| format!("{:.1}%", c * 100.0))
                );
            }
        }
        SlaAction::Clocks { owner, limit } => {
            for clock in store
                .running_clocks(owner.as_deref(), limit, Utc::now())
                .await?
            {
                let left = clock.minutes_left.unwrap_or_default();
                println!(
                    "lead {:<7} {:<32} {:<12} due {}  {}",
                    clock.lead_id,
                    clock.rule,
                    clock.owner.as_deref().unwrap_or("-"),
                    clock.due_at.0.format("%Y-%m-%d %H:%M UTC"),
                    if left < 0 {
                        format!("OVERDUE by {} working min", -left)
                    } else {
                        format!("{left} working min left")
                    }
                );
            }
        }
    }
    Ok(())
}
