//! The store on DynamoDB: one conditional write per request (PutItem, or TransactWriteItems when a claim,
//! an approval step or a rate-limit charge goes with it), GetItem, and bounded list pages of one Query per
//! index partition. The stream of these writes is the outbox for events.

mod approvals;
mod requests;
mod write;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::StoreError;

/// The store on one DynamoDB table, with the item layout of `store::keys`.
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    request_retention: Option<std::time::Duration>,
}

impl DynamoStore {
    /// The store on `table`, through `client`; request rows are kept until deleted by hand.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            request_retention: None,
        }
    }

    /// Request rows written from now on carry a TTL of `retention` (none: kept until deleted by hand).
    /// Rows already written keep the expiry they were written with.
    pub fn with_request_retention(self, retention: Option<std::time::Duration>) -> Self {
        Self {
            request_retention: retention,
            ..self
        }
    }

    /// The TTL of a request row written now, in epoch seconds.
    fn request_expiry(&self) -> Option<i64> {
        let keep = i64::try_from(self.request_retention?.as_secs()).unwrap_or(i64::MAX);
        Some(time::OffsetDateTime::now_utc().unix_timestamp().saturating_add(keep))
    }

    /// The DynamoDB client the store calls through.
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// The name of the table the store reads and writes.
    pub fn table(&self) -> &str {
        &self.table
    }
}

fn to_item<T: Serialize>(v: &T) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_item<T: serde::de::DeserializeOwned>(item: HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn unavailable<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
