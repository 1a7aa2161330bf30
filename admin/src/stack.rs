//! `--stack NAME`: the stack's outputs (CloudFormation DescribeStacks) as the defaults of the flags that
//! name its resources, so an operator types the stack name instead of copying five outputs. An explicit
//! flag or its environment variable wins over an output.

use std::collections::BTreeMap;

use crate::error::{self, Class, Error};

/// A stack's outputs, by key.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub stack: String,
    pub values: BTreeMap<String, String>,
}

impl Outputs {
    /// Reads the outputs of `stack` in `region` (else the AWS configuration's).
    pub async fn load(stack: &str, region: Option<&str>) -> Result<Self, Error> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_owned()));
        }
        let cfn = aws_sdk_cloudformation::Client::new(&loader.load().await);
        let described = match cfn.describe_stacks().stack_name(stack).send().await {
            Ok(d) => d,
            Err(e) if is_missing_stack(&e) => {
                return Err(Error::new(
                    Class::NotFound,
                    format!("stack {stack} does not exist (in this region): check --stack and --region"),
                ))
            }
            Err(e) => return Err(error::sdk(&format!("reading the outputs of stack {stack}"), e)),
        };
        let values = described
            .stacks()
            .first()
            .map(|s| s.outputs())
            .unwrap_or_default()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        Ok(Self {
            stack: stack.to_owned(),
            values,
        })
    }
}

/// CloudFormation answers a missing stack with a ValidationError that says so (there is no
/// dedicated code).
fn is_missing_stack<R>(
    e: &aws_sdk_cloudformation::error::SdkError<
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
        R,
    >,
) -> bool {
    use aws_sdk_cloudformation::error::ProvideErrorMetadata;
    e.as_service_error().is_some_and(|s| {
        s.code() == Some("ValidationError") && s.message().is_some_and(|m| m.contains("does not exist"))
    })
}

/// The value of a flag: the flag (or its environment variable), else the stack's output, else a usage
/// error naming both.
pub fn pick(explicit: Option<&str>, outputs: Option<&Outputs>, output: &str, flag: &str) -> Result<String, Error> {
    if let Some(v) = explicit {
        return Ok(v.to_owned());
    }
    match outputs {
        Some(o) => o
            .values
            .get(output)
            .cloned()
            .ok_or_else(|| error::usage(format!("stack {} has no output {output}: give {flag}", o.stack))),
        None => Err(error::usage(format!("give {flag}, or --stack (its output {output})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_wins_over_the_stack_and_a_missing_output_is_named() {
        let o = Outputs {
            stack: "egress".into(),
            values: BTreeMap::from([("TableName".to_owned(), "t-from-stack".to_owned())]),
        };
        assert_eq!(pick(Some("t"), Some(&o), "TableName", "--table").unwrap(), "t");
        assert_eq!(pick(None, Some(&o), "TableName", "--table").unwrap(), "t-from-stack");
        let e = pick(None, Some(&o), "EventBusName", "--bus").unwrap_err();
        assert_eq!(e.class, Class::Usage);
        assert!(e.message.contains("EventBusName") && e.message.contains("--bus"), "{e}");
        assert_eq!(
            pick(None, None, "EventBusName", "--bus").unwrap_err().class,
            Class::Usage
        );
    }
}
