//! The OpenAPI document of `/api/v1`, generated from the handlers' annotations.

use axum::Json;
use serde_json::{json, Value};
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Leadgate API", description = "Capture leads and their events; read, edit and list them."),
    paths(
        super::leads::create_lead,
        super::leads::get_lead,
        super::leads::update_lead,
        super::leads::list_leads,
        super::leads::timeline,
        super::events::append_events,
        super::merges::dedupe,
        super::merges::list_merges,
        super::merges::decide,
        super::privacy::consents,
        super::privacy::record_consent,
        super::privacy::gdpr_export,
        super::privacy::gdpr_erase,
        super::forms::save_form,
        super::forms::list_forms,
        super::forms::get_form,
        super::forms::submit,
        super::forms::embed,
        super::imports::create_import,
        super::imports::list_imports,
        super::imports::get_import,
        super::imports::import_rejects,
        super::imports::export_leads,
        super::qualification::lead_score,
        super::qualification::transition,
        super::qualification::confirm_bant,
        super::qualification::review_junk,
        super::qualification::list_policies,
        super::qualification::get_policy,
        super::qualification::apply_policy,
        super::qualification::get_rescore,
        super::qualification::backtest,
        super::qualification::automation_dry_run,
        super::followup::create_task,
        super::followup::log_interaction,
        super::followup::list_tasks,
        super::followup::get_task,
        super::followup::close_task,
        super::followup::list_notifications,
        super::followup::read_notification,
        super::followup::list_jobs,
        super::followup::get_job,
        super::followup::retry_job,
        super::routing::list_teams,
        super::routing::put_team,
        super::routing::list_reps,
        super::routing::put_rep,
        super::routing::assign,
        super::routing::lead_clocks,
        super::routing::running_clocks,
        super::routing::compliance,
        super::webhooks::create_webhook,
        super::inbound::receive,
        super::visits::list_trackers,
        super::visits::create_tracker,
        super::visits::update_tracker,
        super::visits::get_tracker,
        super::visits::script,
        super::visits::collect,
        super::spend::list,
        super::spend::put_lines,
        super::spend::import,
        super::spend::set_currency,
        super::spend::returns,
        super::webhooks::list_webhooks,
        super::webhooks::set_active,
        super::webhooks::deliveries,
        super::webhooks::replay,
        super::email::put_template,
        super::email::list_templates,
        super::email::email_lead,
        super::email::list_emails,
        super::email::resend,
        super::models::train,
        super::models::predict,
        super::models::list_models,
        super::models::get_model,
        super::models::report,
        super::models::activate,
        super::models::lead_prediction,
        super::healthz,
        super::ready,
        super::metrics,
        spec,
    ),
    modifiers(&ApiKeyAuth, &AtLeastOneBantPart),
    tags((name = "leads", description = "Leads and their timelines"), (name = "events", description = "The event log"),
           (name = "imports", description = "CSV imports and their rejects reports"),
           (name = "dedupe", description = "Duplicate people: the dedupe pass, merges, suggestions, undo"),
           (name = "privacy", description = "Consent per purpose, Do Not Email / Call, GDPR export and erasure"),
           (name = "forms", description = "Web-to-lead forms: definitions, the public submit endpoint, the embed snippet"),
           (name = "analytics", description = "What the sources cost and returned: spend, the currency, the cost report"),
           (name = "tracking", description = "The website tracker: trackers and their sites, the script, the collect endpoint"),
           (name = "routing", description = "Teams, calendars, reps, assignment, SLA clocks and compliance"),
           (name = "webhooks", description = "Signed event deliveries to other systems, with a delivery log and replay"),
           (name = "email", description = "Email templates and the outbox"),
           (name = "models", description = "The conversion model: training, versions, predictions"),
           (name = "follow-up", description = "Tasks, reminders, interactions and notifications"),
           (name = "qualification", description = "Scores, lifecycle moves, BANT and the versioned policy"),
           (name = "operations", description = "Probes, metrics and this description"))
)]
pub struct ApiDoc;

struct ApiKeyAuth;

/// `BantInput` needs at least one part. Set here because utoipa-gen 5.5 writes a struct's
/// `min_properties` as `maxProperties`.
struct AtLeastOneBantPart;

impl Modify for AtLeastOneBantPart {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let schemas = openapi.components.as_mut().map(|c| &mut c.schemas);
        if let Some(RefOr::T(Schema::Object(bant))) = schemas.and_then(|s| s.get_mut("BantInput")) {
            bant.min_properties = Some(1);
        }
    }
}

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A key made with `leadgate apikey create NAME`"))
                    .build(),
            ),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 description of the API", content_type = "application/json")))]
pub async fn spec() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(
        DOCUMENT
            .get_or_init(|| complete(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()))
            .clone(),
    )
}

/// Adds to every operation the answers the shared layers give whatever the handler is
/// (so each is not written out on 70 handlers): 400 for an address holding a NUL, 401 and
/// 403 where a key is needed, 404 where the path names something, 400/413/415/422 where a
/// body is read; and serves every problem as `application/problem+json`, as it is sent.
fn complete(mut doc: Value) -> Value {
    let problem = || json!({"$ref": "#/components/schemas/Problem"});
    let answer = |description: &str| {
        json!({"description": description,
               "content": {"application/problem+json": {"schema": problem()}}})
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let secured = operation.get("security").is_some();
            let has_body = operation.get("requestBody").is_some();
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| answer(description));
            };
            add(
                "400",
                "The address holds a NUL character, or a query value is invalid",
            );
            if secured {
                add("401", "No valid API key");
                add("403", "This key's role or team may not do this");
            }
            if path.contains('{') {
                add("404", "Nothing has this id or key");
            }
            if has_body {
                add("413", "The body is larger than the route takes");
                add("415", "The body is not of a type the route reads");
                add("422", "A field is invalid: each is named with its reason");
            }
            for response in responses.values_mut() {
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let is_problem = content
                    .get("application/json")
                    .is_some_and(|media| media["schema"] == problem());
                if is_problem {
                    if let Some(media) = content.remove("application/json") {
                        content.insert("application/problem+json".into(), media);
                    }
                }
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_the_answers_of_the_shared_layers() {
        let doc = complete(serde_json::to_value(ApiDoc::openapi()).unwrap());
        let create = &doc["paths"]["/api/v1/leads"]["post"]["responses"];
        for status in ["400", "401", "403", "413", "415", "422"] {
            assert!(create.get(status).is_some(), "POST /leads answers {status}");
        }
        assert!(create["422"]["content"]["application/problem+json"].is_object());
        assert!(create["422"]["content"].get("application/json").is_none());
        let one = &doc["paths"]["/api/v1/leads/{id}"]["get"]["responses"];
        assert!(one.get("404").is_some());
        let health = &doc["paths"]["/healthz"]["get"]["responses"];
        assert!(health.get("401").is_none(), "probes need no key");
    }
}
