//! Baseline for the cold-start harness (`coldstart`): a Lambda function on the same runtime crate and tokio
//! setup as ours, with no init work at all. Exec-to-first-event of our functions is reported against it.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
