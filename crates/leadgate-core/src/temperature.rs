//! A lead's temperature: hot, warm or cold, from its grade (the policy's grade matrix).

use serde::Serialize;

/// How urgently sales should act on a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Temperature {
    Hot,
    Warm,
    Cold,
}

impl Temperature {
    pub fn as_str(self) -> &'static str {
        match self {
            Temperature::Hot => "hot",
            Temperature::Warm => "warm",
            Temperature::Cold => "cold",
        }
    }
}

impl std::str::FromStr for Temperature {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hot" => Ok(Temperature::Hot),
            "warm" => Ok(Temperature::Warm),
            "cold" => Ok(Temperature::Cold),
            _ => Err(format!("unknown temperature '{s}'; use hot, warm or cold")),
        }
    }
}
