//! DynamoDB stream -> EventBridge (the outbox publisher). Thin: logic is in `egress_core::handle_stream_event` (events module).

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use egress_core::RetryPolicy;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    egress_core::init_telemetry();
    let bus = Arc::new(egress_core::event_bus().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let bus = Arc::clone(&bus);
        async move {
            let publish = egress_core::handle_stream_event(bus.as_ref(), &event.payload, RetryPolicy::default());
            Ok::<DynamoDbEventResponse, Error>(egress_core::in_invocation(&event.context.request_id, publish).await)
        }
    }))
    .await
}
