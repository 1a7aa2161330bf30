//! Requests as API Gateway hands them to the handlers (dev principal header), and their answers as JSON.

use std::collections::HashMap;

use lambda_http::{Body, RequestExt, Response};
use serde_json::Value;

/// An answer: status, headers, body as JSON (`Null` when it is not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn of(resp: Response<Body>) -> Self {
        let body = match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Self {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A POST with a body (JSON content type unless `headers` name one).
pub fn post(principal: Option<&str>, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> lambda_http::Request {
    let mut b = lambda_http::http::Request::builder().method("POST").uri(path);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        b = b.header("content-type", "application/json");
    }
    if let Some(p) = principal {
        b = b.header(egress_core::PRINCIPAL_HEADER, p);
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::Binary(body)).expect("request")
}

/// A GET with query parameters (each pair once; a name may repeat).
pub fn get(principal: &str, path: &str, query: &[(&str, String)]) -> lambda_http::Request {
    let q: HashMap<String, Vec<String>> = query.iter().fold(HashMap::new(), |mut m, (k, v)| {
        m.entry((*k).to_owned()).or_default().push(v.clone());
        m
    });
    lambda_http::http::Request::builder()
        .method("GET")
        .uri(path)
        .header(egress_core::PRINCIPAL_HEADER, principal)
        .body(Body::Empty)
        .expect("request")
        .with_query_string_parameters(q)
}
