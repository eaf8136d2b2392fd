//! `leadgate task`, `leadgate log` and `leadgate jobs`: follow-up and the job queue from the
//! terminal.

use super::StoreArgs;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use leadgate_core::followup::{InteractionRequest, TaskRequest, TaskState};
use leadgate_core::job::{JobKind, JobState};
use leadgate_store::TaskFilter;

#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    action: TaskAction,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum TaskAction {
    /// Add a task to lead LEAD; a reminder goes to its owner when it is due.
    Add {
        lead: leadgate_core::id::LeadId,
        /// call, email, meeting or todo.
        #[arg(long = "type", default_value = "call")]
        task_type: String,
        /// When: an RFC 3339 time, or from now: +30m, +4h, +2d.
        #[arg(long)]
        due: String,
        #[arg(long)]
        title: Option<String>,
        /// Who does it (the lead's owner if not given).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// List tasks by due time, the most overdue first.
    List {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        lead: Option<leadgate_core::id::LeadId>,
        /// Only those past their due time.
        #[arg(long)]
        overdue: bool,
        /// Done and cancelled ones too.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Mark task ID done.
    Done { id: leadgate_core::id::TaskId },
    /// Cancel task ID.
    Cancel { id: leadgate_core::id::TaskId },
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The lead.
    lead: leadgate_core::id::LeadId,
    /// call, email, meeting or note.
    #[arg(value_name = "TYPE")]
    kind: String,
    /// How it went: a call connected, voicemail, no_answer, busy, wrong_number; an email
    /// sent, received, bounced; a meeting held, no_show, rescheduled.
    #[arg(long)]
    outcome: Option<String>,
    #[arg(long)]
    notes: Option<String>,
    #[arg(long)]
    minutes: Option<u32>,
    /// Who logs it.
    #[arg(long, default_value = "cli")]
    by: String,
    /// The next step as TYPE@WHEN, e.g. meeting@+2d or call@2026-05-06T09:00:00Z.
    #[arg(long)]
    next: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    action: JobsAction,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum JobsAction {
    /// List jobs, newest first (`--state dead` is the dead letter).
    List {
        /// queued, running, done or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show job ID with every attempt.
    Show { id: leadgate_core::id::JobId },
    /// Send dead jobs back to the queue: the IDs given, or every dead one with --dead.
    Retry {
        ids: Vec<leadgate_core::id::JobId>,
        #[arg(long, conflicts_with = "ids")]
        dead: bool,
    },
}

/// A time given as RFC 3339 or as an offset from now (`+30m`, `+4h`, `+2d`, `now`).
fn parse_when(raw: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let raw = raw.trim();
    if raw == "now" {
        return Ok(now);
    }
    if let Some(offset) = raw.strip_prefix('+') {
        let unit = offset.chars().last().unwrap_or(' ');
        let number = &offset[..offset.len() - unit.len_utf8().min(offset.len())];
        let n: i64 = number
            .parse()
            .ok()
            .filter(|n| *n >= 0 && *n <= 100_000)
            .with_context(|| format!("'{raw}': the offset is not a whole number of units"))?;
        let offset = match unit {
            'm' => Duration::minutes(n),
            'h' => Duration::hours(n),
            'd' => Duration::days(n),
            _ => anyhow::bail!("'{raw}': use m, h or d after the number, as in +30m, +4h, +2d"),
        };
        return Ok(now + offset);
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("'{raw}' is neither an RFC 3339 time nor an offset like +4h"))
}

/// The task as the API would receive it, so the CLI and the API check it alike.
/// A task of `task_type` due at `due`.
fn task_request(task_type: &str, due: DateTime<Utc>) -> TaskRequest {
    TaskRequest {
        task_type: Some(task_type.to_owned()),
        due_at: Some(due.to_rfc3339()),
        ..TaskRequest::default()
    }
}

pub async fn task(args: TaskArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let store = args.store.open().await?;
    match args.action {
        TaskAction::Add {
            lead,
            task_type,
            due,
            title,
            owner,
            notes,
        } => {
            let due = parse_when(&due, now)?;
            let task = TaskRequest {
                title,
                owner,
                notes,
                ..task_request(&task_type, due)
            }
            .check("")
            .map_err(|errors| super::field_errors(None, errors))?;
            let task = leadgate_app::followup::create_task(&store, lead, &task, "cli", now).await?;
            println!(
                "task {} on lead {lead}: {} ({}) for {}, due {}",
                task.id,
                task.title,
                task.task_type,
                task.owner.as_deref().unwrap_or("nobody"),
                task.due_at.0.to_rfc3339()
            );
        }
        TaskAction::List {
            owner,
            lead,
            overdue,
            all,
            limit,
        } => {
            let tasks = store
                .tasks(&TaskFilter {
                    owner,
                    lead_id: lead,
                    state: (!all).then_some(TaskState::Open),
                    due_before: overdue.then_some(now),
                    limit,
                })
                .await?;
            for task in &tasks {
                let late = if task.state == TaskState::Open && task.due_at.0 < now {
                    "OVERDUE"
                } else {
                    ""
                };
                println!(
                    "{:>6}  lead {:<7} {:<8} {:<10} {:<16} {} {late}  {}",
                    task.id,
                    task.lead_id,
                    task.task_type,
                    task.state,
                    task.owner.as_deref().unwrap_or("-"),
                    task.due_at.0.format("%Y-%m-%d %H:%M"),
                    task.title
                );
            }
            eprintln!("{} tasks", tasks.len());
        }
        TaskAction::Done { id } => {
            let task = store.close_task(id, TaskState::Done, "cli", now).await?;
            println!("task {} done", task.id);
        }
        TaskAction::Cancel { id } => {
            let task = store
                .close_task(id, TaskState::Cancelled, "cli", now)
                .await?;
            println!("task {} cancelled", task.id);
        }
    }
    Ok(())
}

pub async fn log(args: LogArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let next_step = match &args.next {
        Some(next) => {
            let (task_type, when) = next
                .split_once('@')
                .context("--next is TYPE@WHEN, e.g. meeting@+2d")?;
            Some(task_request(task_type, parse_when(when, now)?))
        }
        None => None,
    };
    let interaction = InteractionRequest {
        kind: Some(args.kind.clone()),
        outcome: args.outcome,
        notes: args.notes,
        duration_minutes: args.minutes.map(i64::from),
        next_step,
        occurred_at: None,
    }
    .check(now)
    .map_err(|errors| super::field_errors(None, errors))?;
    let store = args.store.open().await?;
    let logged =
        leadgate_app::followup::log_interaction(&store, args.lead, &interaction, &args.by, now)
            .await?;
    println!(
        "logged {} on lead {} (event {})",
        args.kind, args.lead, logged.event_id
    );
    if let Some(task) = logged.next_step {
        println!(
            "next step: task {} {} due {}",
            task.id,
            task.task_type,
            task.due_at.0.to_rfc3339()
        );
    }
    Ok(())
}

pub async fn jobs(args: JobsArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        JobsAction::List { state, kind, limit } => {
            let state = state
                .as_deref()
                .map(str::parse::<JobState>)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--state: {e}"))?;
            let kind = kind
                .as_deref()
                .map(str::parse::<JobKind>)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
            for (state, n) in store.job_counts().await? {
                eprint!("{state}: {n}  ");
            }
            eprintln!();
            for job in store.jobs(state, kind, limit.clamp(1, 10_000)).await? {
                println!(
                    "{:>7}  {:<14} {:<8} attempts {}/{}  due {}  {}",
                    job.id,
                    job.kind,
                    job.state,
                    job.attempts,
                    job.max_attempts,
                    job.due_at.0.format("%Y-%m-%d %H:%M:%S"),
                    job.last_error.as_deref().unwrap_or("")
                );
            }
        }
        JobsAction::Show { id } => {
            let job = store.job(id).await?;
            println!("{}", serde_json::to_string_pretty(&job)?);
            for run in store.job_runs(id).await? {
                println!(
                    "  attempt {} by {} at {}: {} {}",
                    run.attempt,
                    run.worker,
                    run.finished_at.0.to_rfc3339(),
                    run.outcome,
                    run.error.as_deref().unwrap_or("")
                );
            }
        }
        JobsAction::Retry { ids, dead } => {
            let ids = if dead {
                store
                    .jobs(Some(JobState::Dead), None, 100_000)
                    .await?
                    .into_iter()
                    .map(|job| job.id)
                    .collect()
            } else if ids.is_empty() {
                anyhow::bail!("name the jobs to retry, or give --dead for all dead jobs");
            } else {
                ids
            };
            for id in &ids {
                store.retry_job(*id, Utc::now()).await?;
            }
            println!("{} jobs queued again", ids.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_absolute_or_from_now() {
        let now: DateTime<Utc> = "2026-05-04T10:00:00Z".parse().unwrap();
        assert_eq!(parse_when("now", now).unwrap(), now);
        assert_eq!(
            parse_when("+30m", now).unwrap(),
            now + Duration::minutes(30)
        );
        assert_eq!(parse_when("+4h", now).unwrap(), now + Duration::hours(4));
        assert_eq!(parse_when("+2d", now).unwrap(), now + Duration::days(2));
        assert_eq!(
            parse_when("2026-05-06T09:00:00+02:00", now).unwrap(),
            "2026-05-06T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        for bad in ["+", "+é", "+4w", "+-3h", "+h", "tomorrow", "+99999999d"] {
            assert!(parse_when(bad, now).is_err(), "{bad}");
        }
    }
}
