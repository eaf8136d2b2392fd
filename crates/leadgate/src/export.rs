//! Leads written out as CSV, page by page, with cells a spreadsheet will not run as formulas.

use leadgate_core::export::safe_cell;
use leadgate_core::LeadField;
use leadgate_store::{LeadFilter, LeadSort, Store};
use std::io::Write;

/// The columns of an export: the lead's fields, its source, its stored score, its times.
pub const EXPORT_COLUMNS: [&str; 30] = [
    "id",
    "external_id",
    "stage",
    "owner",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "country",
    "company",
    "industry",
    "company_size",
    "website",
    "product_need",
    "budget",
    "purchase_timeframe",
    "current_solution",
    "pains",
    "channel",
    "source_class",
    "campaign",
    "utm_source",
    "score",
    "grade",
    "temperature",
    "created_at",
    "updated_at",
    "person_id",
    "custom",
];

/// Writes every lead the filter selects as CSV, page by page (constant memory), with cells a
/// spreadsheet will not run as formulas. Returns how many were written.
pub async fn write_csv<W: Write>(
    store: &Store,
    mut filter: LeadFilter,
    out: W,
) -> anyhow::Result<u64> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(EXPORT_COLUMNS)?;
    filter.sort = "id".parse::<LeadSort>().map_err(anyhow::Error::msg)?;
    filter.limit = 1000;
    let mut count = 0;
    loop {
        let page = store.list_leads(&filter).await?;
        for stored in &page.leads {
            let lead = &stored.lead;
            let text = |f: LeadField| lead.text_value(f).unwrap_or_default().to_owned();
            let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            let snapshot = stored.snapshot.as_ref();
            let record: Vec<String> = vec![
                stored.id.to_string(),
                text(LeadField::ExternalId),
                text(LeadField::Stage),
                text(LeadField::Owner),
                text(LeadField::FirstName),
                text(LeadField::LastName),
                text(LeadField::Email),
                text(LeadField::Phone),
                text(LeadField::JobTitle),
                text(LeadField::Country),
                text(LeadField::Company),
                text(LeadField::Industry),
                number(lead.number_value(LeadField::CompanySize)),
                text(LeadField::Website),
                text(LeadField::ProductNeed),
                number(lead.budget),
                text(LeadField::PurchaseTimeframe),
                text(LeadField::CurrentSolution),
                text(LeadField::Pains),
                stored.first_touch.channel.as_str().to_owned(),
                stored.first_touch.source_class.as_str().to_owned(),
                stored
                    .first_touch
                    .campaign
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
                stored
                    .first_touch
                    .utm_source
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
                number(snapshot.map(|s| s.score)),
                snapshot.map(|s| s.grade.clone()).unwrap_or_default(),
                snapshot.map(|s| s.temperature.clone()).unwrap_or_default(),
                stored.created_at.to_rfc3339(),
                stored.updated_at.to_rfc3339(),
                stored.person_id.to_string(),
                if lead.custom.is_empty() {
                    String::new()
                } else {
                    serde_json::Value::Object(lead.custom.clone()).to_string()
                },
            ];
            writer.write_record(record.iter().map(|cell| safe_cell(cell).into_owned()))?;
            count += 1;
        }
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => break,
        }
    }
    writer.flush()?;
    Ok(count)
}
