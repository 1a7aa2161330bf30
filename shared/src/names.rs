//! The one validator of each name the API and the policy share: principals and zone names.

/// Longest principal accepted (an IAM ARN is at most 2,048 bytes; ours are role, user and federated-user
/// ARNs and JWT subjects, far shorter).
pub const MAX_PRINCIPAL_LEN: usize = 1024;

/// A principal (from the authorizer, the dev header, a list filter or a policy pattern): 1-1024 bytes, no
/// whitespace or control characters, so it can never smuggle a separator into a key, log or header.
pub fn valid_principal(p: &str) -> bool {
    !p.is_empty() && p.len() <= MAX_PRINCIPAL_LEN && p.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// A zone name, as the schemas and the OpenAPI document state it (`test_template.py` holds the OpenAPI
/// document's `Zone` pattern to this; a test below holds [`valid_zone_name`] to it).
pub const ZONE_PATTERN: &str = "^[a-z0-9-]{1,64}$";

/// A zone name: [`ZONE_PATTERN`].
pub fn valid_zone_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_validator_is_the_zone_pattern() {
        let pattern = regex::Regex::new(ZONE_PATTERN).unwrap();
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        for name in [
            "default",
            "a",
            "team-1",
            "0",
            "-",
            &long,
            &too_long,
            "",
            "Default",
            "team_1",
            "team.1",
            "zoné",
            "a b",
            "a\n",
            "default\n",
        ] {
            assert_eq!(valid_zone_name(name), pattern.is_match(name), "{name:?}");
        }
    }
}
