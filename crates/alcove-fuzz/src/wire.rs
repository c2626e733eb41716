//! The request parts every protocol reads from the caller: the Query protocol's form
//! (CloudFormation, STS), S3's addressing (Host and path), query string, `Range` header
//! and XML request documents, and CloudWatch Logs' filter patterns.

use alcove_api::fuzzing::{
    s3_address, s3_range, s3_xml, CompleteMultipartUpload, CreateBucketConfiguration, Form, S3Query,
};
use alcove_logs::FilterPattern;

use crate::support::text;

#[test]
fn query_form() {
    bolero::check!().for_each(|input: &[u8]| {
        let form = Form::parse(input);
        let _ = form.get("Action");
        let _ = form.flag("DisableRollback");
        let _ = form.strings("Capabilities.member");
        for parameter in form.structures("Parameters.member") {
            let _ = parameter.required("ParameterKey");
        }
    });
}

#[test]
fn s3_request_parts() {
    bolero::check!().for_each(|input: &[u8]| {
        let Some(input) = text(input) else { return };
        // One input feeds every part: Host, path, query and Range cut from the same text.
        let (host, rest) = input.split_once('\n').unwrap_or((input, ""));
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let address = s3_address(Some(host), path);
        if let Some(bucket) = &address.bucket {
            assert!(!bucket.is_empty());
        }
        let query = S3Query::parse(Some(query));
        let _ = query.only(&["uploads", "uploadId", "partNumber", "list-type"]);
        let size = input.len() as u64;
        if let alcove_api::fuzzing::Wanted::Part(first, last) = s3_range(Some(input), size) {
            assert!(first <= last && last < size, "{first}-{last} of {size}");
        }
    });
}

#[test]
fn s3_xml_documents() {
    bolero::check!().for_each(|input: &[u8]| {
        let _ = s3_xml::<CompleteMultipartUpload>(input);
        let _ = s3_xml::<CreateBucketConfiguration>(input);
    });
}

#[test]
fn logs_filter_pattern() {
    bolero::check!().for_each(|input: &[u8]| {
        if let Some(pattern) = text(input) {
            let _ = FilterPattern::parse(pattern);
        }
    });
}
