//! Calls a JSON API and summarises what it returns: an example of a skill
//! that uses outbound HTTP through the host.
//!
//! It asks for one destination, `https://json-api.test:47443`. The owner's
//! grant decides whether it may actually reach it.
use serde::{Deserialize, Serialize};
use skillhost_sdk::http::Request;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError, info};

const API: &str = "https://json-api.test:47443";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// Only items with this tag.
    tag: String,
}

#[derive(Deserialize)]
struct Item {
    name: String,
    price_cents: u64,
}

#[derive(Serialize, JsonSchema)]
struct Output {
    count: usize,
    total_cents: u64,
    most_expensive: Option<String>,
}

struct ItemStats;

impl Skill for ItemStats {
    type Input = Input;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "item-stats",
        env!("CARGO_PKG_VERSION"),
        "Fetches the items with a tag from the inventory API and totals their prices.",
    )
    .http(&[API]);

    fn invoke(input: Input) -> Result<Output, SkillError> {
        if !input
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(SkillError::new(
                "bad_tag",
                "a tag is letters, digits and '-'",
            ));
        }
        let items: Vec<Item> = Request::get(format!("{API}/v1/items?tag={}", input.tag))
            .header("accept", "application/json")
            .send()?
            .error_for_status()?
            .json()?;
        info!("fetched {} items", items.len());
        Ok(Output {
            count: items.len(),
            total_cents: items.iter().map(|i| i.price_cents).sum(),
            most_expensive: items
                .iter()
                .max_by_key(|i| i.price_cents)
                .map(|i| i.name.clone()),
        })
    }
}

skillhost_sdk::export_skill!(ItemStats);
