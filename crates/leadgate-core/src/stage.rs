//! The lifecycle stage a lead is in. Transitions between stages belong to the qualification
//! engine; here a stage is a value that can be stored, parsed and listed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Prospect,
    Lead,
    Mql,
    Sal,
    Sql,
    Opportunity,
    Customer,
    Disqualified,
    Recycled,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Prospect,
        Stage::Lead,
        Stage::Mql,
        Stage::Sal,
        Stage::Sql,
        Stage::Opportunity,
        Stage::Customer,
        Stage::Disqualified,
        Stage::Recycled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Prospect => "prospect",
            Stage::Lead => "lead",
            Stage::Mql => "mql",
            Stage::Sal => "sal",
            Stage::Sql => "sql",
            Stage::Opportunity => "opportunity",
            Stage::Customer => "customer",
            Stage::Disqualified => "disqualified",
            Stage::Recycled => "recycled",
        }
    }

    /// Stages a new lead may be created in; later stages are reached by qualification.
    pub fn is_entry(self) -> bool {
        matches!(self, Stage::Prospect | Stage::Lead)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage '{0}'; expected one of prospect, lead, mql, sal, sql, opportunity, customer, disqualified, recycled")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == wanted)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_round_trips_through_its_name() {
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>().unwrap(), stage);
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::json!(stage.as_str())
            );
        }
        assert_eq!("MQL".parse::<Stage>().unwrap(), Stage::Mql);
        assert!("hot".parse::<Stage>().is_err());
    }
}
