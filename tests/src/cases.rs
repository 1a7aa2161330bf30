//! Case tables shared by the wire-level tests and the logic tests, so both hold the same claims.

use serde_json::json;

/// One input the create route must refuse: problem+json with `status`, nothing written, nothing emitted.
pub struct Rejected<'a> {
    pub name: &'a str,
    pub principal: Option<&'a str>,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Vec<u8>,
    pub status: u16,
}

/// Every class of refused input (the long idempotency key is borrowed from `long_key`, 256 characters).
pub fn rejected_inputs<'a>(principal: &'a str, long_key: &'a str) -> Vec<Rejected<'a>> {
    let big = format!(
        r#"{{"url":"https://api.github.com/","zone":"default","purpose":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let cases = vec![
        ("not json", Some(principal), vec![], b"{not json".to_vec(), 400),
        (
            "principal in body",
            Some(principal),
            vec![],
            json!({"url":"https://api.github.com/","zone":"default","principal":"root"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "unknown field",
            Some(principal),
            vec![],
            json!({"url":"https://api.github.com/","zone":"default","x":1})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "both url and domain",
            Some(principal),
            vec![],
            json!({"url":"https://a.com/","domain":"a.com","zone":"default"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "neither url nor domain",
            Some(principal),
            vec![],
            json!({"zone":"default"}).to_string().into_bytes(),
            400,
        ),
        (
            "userinfo",
            Some(principal),
            vec![],
            json!({"url":"https://user:pw@api.github.com/","zone":"default"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "ftp scheme",
            Some(principal),
            vec![],
            json!({"url":"ftp://api.github.com/","zone":"default"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "backslash",
            Some(principal),
            vec![],
            json!({"url":"https://api.github.com\\@evil.com/","zone":"default"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "bad zone",
            Some(principal),
            vec![],
            json!({"url":"https://api.github.com/","zone":"Default!"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "purpose too long",
            Some(principal),
            vec![],
            json!({"url":"https://api.github.com/","zone":"default","purpose":"p".repeat(513)})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "duplicate key",
            Some(principal),
            vec![],
            br#"{"url":"https://a.com/","url":"https://b.com/","zone":"default"}"#.to_vec(),
            400,
        ),
        // (invalid UTF-8 is tested in process, request_path.rs: `cargo lambda watch` itself answers 500 to it)
        ("deep nesting", Some(principal), vec![], deep.into_bytes(), 400),
        (
            "number for string",
            Some(principal),
            vec![],
            br#"{"url":1e999999,"zone":"default"}"#.to_vec(),
            400,
        ),
        (
            "bad idempotency key",
            Some(principal),
            vec![("idempotency-key", long_key)],
            json!({"url":"https://api.github.com/","zone":"default"})
                .to_string()
                .into_bytes(),
            400,
        ),
        ("body too large", Some(principal), vec![], big.into_bytes(), 413),
        (
            "wrong content type",
            Some(principal),
            vec![("content-type", "text/plain")],
            json!({"url":"https://api.github.com/","zone":"default"})
                .to_string()
                .into_bytes(),
            415,
        ),
        (
            "no principal",
            None,
            vec![],
            json!({"url":"https://api.github.com/","zone":"default"})
                .to_string()
                .into_bytes(),
            401,
        ),
    ];
    cases
        .into_iter()
        .map(|(name, principal, headers, body, status)| Rejected {
            name,
            principal,
            headers,
            body,
            status,
        })
        .collect()
}

/// A key longer than `Idempotency-Key` allows.
pub fn long_idempotency_key() -> String {
    "k".repeat(egress_core::MAX_IDEMPOTENCY_KEY_LEN + 1)
}
