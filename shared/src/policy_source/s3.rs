//! The policy as an S3 object (`EGRESS_POLICY_S3_URI`): documents of any size a policy needs (SSM holds
//! 8 KB). A conditional GET with the last ETag: an unchanged document costs a 304 and no transfer.

use std::str::FromStr;

use async_trait::async_trait;
use aws_sdk_s3::operation::get_object::GetObjectError;
use tokio::sync::Mutex;

use super::{FetchError, Fetched, PolicyFetcher};

/// The largest document read: a 1,000,000-host deny list in JSON form is about 22 MB.
pub const MAX_POLICY_BYTES: i64 = 32 * 1024 * 1024;

/// `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket's name: the URI's text up to the first `/`.
    pub bucket: String,
    /// The object's key: everything after that `/`.
    pub key: String,
}

impl FromStr for S3Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s.strip_prefix("s3://").ok_or("an s3://bucket/key URI")?;
        match rest.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Self {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            _ => Err("an s3://bucket/key URI with a bucket and a key".into()),
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Reads the policy object with a conditional GET on its last ETag; a document over
/// [`MAX_POLICY_BYTES`] or not UTF-8 is refused as [`FetchError::Invalid`].
pub struct S3Fetcher {
    client: aws_sdk_s3::Client,
    location: S3Location,
    /// ETag of the last document returned, sent as If-None-Match.
    etag: Mutex<Option<String>>,
}

impl S3Fetcher {
    /// A fetcher of the object at `location` through `client`; it has no ETag yet, so the first fetch
    /// downloads the document.
    pub fn new(client: aws_sdk_s3::Client, location: S3Location) -> Self {
        Self {
            client,
            location,
            etag: Mutex::new(None),
        }
    }

    fn unavailable(&self, detail: impl std::fmt::Display) -> FetchError {
        FetchError::Unavailable(format!("{}: {detail}", self.location))
    }
}

#[async_trait]
impl PolicyFetcher for S3Fetcher {
    async fn fetch(&self) -> Result<Fetched, FetchError> {
        let mut etag = self.etag.lock().await;
        let sent = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(&self.location.key)
            .set_if_none_match(etag.clone())
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            // The SDK reports 304 as an error without a modeled kind: read the status.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => return Ok(Fetched::Unchanged),
            Err(e) => {
                return Err(match e.into_service_error() {
                    // A deleted object (or a delete marker in a versioned bucket) is NoSuchKey when the
                    // reader may list the key; without that permission S3 answers 403 and it reads as an
                    // outage (the template grants it).
                    GetObjectError::NoSuchKey(_) => {
                        *etag = None;
                        FetchError::NotFound(self.location.to_string())
                    }
                    other => self.unavailable(aws_sdk_s3::error::DisplayErrorContext(other)),
                });
            }
        };
        // A document that exists but can never be a policy is rejected like an invalid one, and its ETag
        // kept: it is not downloaded again until it changes.
        let new_etag = out.e_tag().map(str::to_owned);
        let too_large = || FetchError::Invalid(format!("{}: larger than {MAX_POLICY_BYTES} bytes", self.location));
        if out.content_length().is_some_and(|n| n > MAX_POLICY_BYTES) {
            *etag = new_etag;
            return Err(too_large());
        }
        let bytes = out.body.collect().await.map_err(|e| self.unavailable(e))?.into_bytes();
        *etag = new_etag;
        if bytes.len() as i64 > MAX_POLICY_BYTES {
            return Err(too_large());
        }
        String::from_utf8(bytes.to_vec())
            .map(Fetched::Document)
            .map_err(|_| FetchError::Invalid(format!("{}: not UTF-8", self.location)))
    }
    fn describe(&self) -> String {
        format!("s3 object {}", self.location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let l: S3Location = "s3://policies-bucket/egress/policy.json".parse().unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.key.as_str()),
            ("policies-bucket", "egress/policy.json")
        );
        assert_eq!(l.to_string(), "s3://policies-bucket/egress/policy.json");
        for bad in [
            "policies/key",
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3:///key",
            "https://b/k",
        ] {
            assert!(bad.parse::<S3Location>().is_err(), "{bad}");
        }
    }
}
