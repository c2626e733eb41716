//! The operations, each from its request's members to its answer.

use alcove_logs::{
    now_ms, EventsQuery, FilterPattern, FilterQuery, GroupQuery, LogStore, Retention, StreamOrder,
    StreamQuery, StreamSelection, EVENT_OVERHEAD,
};
use serde_json::{json, Value};

use super::wire::{self, check_group_name, check_stream_name, constraint, Members};
use crate::error::Json11Error;

pub struct Context {
    pub store: LogStore,
    /// The region ARNs name.
    pub region: String,
}

type Answer = Result<Value, Json11Error>;

pub fn run(context: &Context, operation: &str, request: &Value) -> Answer {
    let members = Members(request);
    match operation {
        "CreateLogGroup" => create_log_group(context, &members),
        "DeleteLogGroup" => delete_log_group(context, &members),
        "DescribeLogGroups" => describe_log_groups(context, &members),
        "PutRetentionPolicy" => put_retention_policy(context, &members),
        "DeleteRetentionPolicy" => delete_retention_policy(context, &members),
        "CreateLogStream" => create_log_stream(context, &members),
        "DeleteLogStream" => delete_log_stream(context, &members),
        "DescribeLogStreams" => describe_log_streams(context, &members),
        "PutLogEvents" => put_log_events(context, &members),
        "GetLogEvents" => get_log_events(context, &members),
        "FilterLogEvents" => filter_log_events(context, &members),
        "StartLiveTail" => Err(Json11Error {
            code: "InvalidOperationException",
            ..Json11Error::invalid_parameter(
                "StartLiveTail is not supported by this server; poll FilterLogEvents instead (alcove logs --follow does)",
            )
        }),
        _ => Err(Json11Error::unknown_operation()),
    }
}

fn create_log_group(context: &Context, members: &Members<'_>) -> Answer {
    let name = members.required_string("logGroupName")?;
    check_group_name(&name)?;
    context.store.create_group(&name)?;
    Ok(json!({}))
}

fn delete_log_group(context: &Context, members: &Members<'_>) -> Answer {
    let name = members.required_string("logGroupName")?;
    context.store.delete_group(&name)?;
    Ok(json!({}))
}

fn describe_log_groups(context: &Context, members: &Members<'_>) -> Answer {
    let prefix = members.string("logGroupNamePrefix")?;
    let pattern = members.string("logGroupNamePattern")?;
    if prefix.is_some() && pattern.is_some() {
        return Err(Json11Error::invalid_parameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let page = context.store.describe_groups(&GroupQuery {
        prefix,
        pattern,
        limit: members.limit("limit", 50, 50)?,
        token: members.string("nextToken")?,
    })?;
    let groups: Vec<Value> = page.items.iter().map(|g| wire::group(g, &context.region)).collect();
    let mut answer = json!({ "logGroups": groups });
    if let Some(token) = page.next_token {
        answer["nextToken"] = json!(token);
    }
    Ok(answer)
}

fn put_retention_policy(context: &Context, members: &Members<'_>) -> Answer {
    let name = members.required_string("logGroupName")?;
    let days = members.integer("retentionInDays")?.ok_or_else(|| Json11Error::missing("retentionInDays"))?;
    context.store.set_retention(&name, Some(Retention::days(days)?))?;
    Ok(json!({}))
}

fn delete_retention_policy(context: &Context, members: &Members<'_>) -> Answer {
    let name = members.required_string("logGroupName")?;
    context.store.set_retention(&name, None)?;
    Ok(json!({}))
}

fn create_log_stream(context: &Context, members: &Members<'_>) -> Answer {
    let group = members.required_string("logGroupName")?;
    let stream = members.required_string("logStreamName")?;
    check_stream_name(&stream)?;
    context.store.create_stream(&group, &stream)?;
    Ok(json!({}))
}

fn delete_log_stream(context: &Context, members: &Members<'_>) -> Answer {
    let group = members.required_string("logGroupName")?;
    let stream = members.required_string("logStreamName")?;
    context.store.delete_stream(&group, &stream)?;
    Ok(json!({}))
}

fn describe_log_streams(context: &Context, members: &Members<'_>) -> Answer {
    let group = members.group()?;
    let order = match members.string("orderBy")?.as_deref() {
        None | Some("LogStreamName") => StreamOrder::Name,
        Some("LastEventTime") => StreamOrder::LastEventTime,
        Some(other) => {
            return Err(constraint(
                "orderBy",
                other,
                "satisfy enum value set: [LogStreamName, LastEventTime]",
            ))
        }
    };
    let prefix = members.string("logStreamNamePrefix")?;
    if prefix.is_some() && order == StreamOrder::LastEventTime {
        return Err(Json11Error::invalid_parameter(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let page = context.store.describe_streams(&StreamQuery {
        group: group.clone(),
        prefix,
        order,
        descending: members.boolean("descending")?.unwrap_or(false),
        limit: members.limit("limit", 50, 50)?,
        token: members.string("nextToken")?,
    })?;
    let streams: Vec<Value> = page.items.iter().map(|s| wire::stream(&group, s, &context.region)).collect();
    let mut answer = json!({ "logStreams": streams });
    if let Some(token) = page.next_token {
        answer["nextToken"] = json!(token);
    }
    Ok(answer)
}

/// Most events and bytes one `PutLogEvents` takes, and how far from now a timestamp may be.
const MAX_PUT_EVENTS: usize = 10_000;
const MAX_PUT_BYTES: u64 = 1_048_576;
const TOO_OLD_MS: i64 = 14 * 86_400_000;
const TOO_NEW_MS: i64 = 2 * 3_600_000;

fn put_log_events(context: &Context, members: &Members<'_>) -> Answer {
    let group = members.required_string("logGroupName")?;
    let stream = members.required_string("logStreamName")?;
    let items = members.array("logEvents")?.ok_or_else(|| Json11Error::missing("logEvents"))?;
    if items.is_empty() || items.len() > MAX_PUT_EVENTS {
        return Err(constraint(
            "logEvents",
            items.len(),
            &format!("have length between 1 and {MAX_PUT_EVENTS}"),
        ));
    }
    let mut events = Vec::with_capacity(items.len());
    let mut bytes = 0;
    for item in items {
        let event = Members(item);
        let timestamp =
            event.integer("timestamp")?.ok_or_else(|| Json11Error::missing("logEvents.member.timestamp"))?;
        let message = event.required_string("message")?;
        bytes += message.len() as u64 + EVENT_OVERHEAD;
        events.push((timestamp, message));
    }
    if bytes > MAX_PUT_BYTES {
        return Err(Json11Error::invalid_parameter(format!(
            "Upload too large: {bytes} bytes exceeds limit of {MAX_PUT_BYTES}"
        )));
    }
    if events.windows(2).any(|pair| pair[1].0 < pair[0].0) {
        return Err(Json11Error::invalid_parameter(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    let now = now_ms();
    // In time order: the too old come first, the too new last.
    let old_end = events.iter().take_while(|(t, _)| *t < now - TOO_OLD_MS).count();
    let new_start =
        events.iter().position(|(t, _)| *t > now + TOO_NEW_MS).unwrap_or(events.len()).max(old_end);
    context.store.put_events(&group, &stream, &events[old_end..new_start])?;
    let mut rejected = serde_json::Map::new();
    if old_end > 0 {
        rejected.insert("tooOldLogEventEndIndex".into(), json!(old_end));
    }
    if new_start < events.len() {
        rejected.insert("tooNewLogEventStartIndex".into(), json!(new_start));
    }
    let mut answer = json!({});
    if !rejected.is_empty() {
        answer["rejectedLogEventsInfo"] = Value::Object(rejected);
    }
    Ok(answer)
}

fn time_range(members: &Members<'_>) -> Result<(Option<i64>, Option<i64>), Json11Error> {
    let start = members.integer("startTime")?;
    let end = members.integer("endTime")?;
    for (name, value) in [("startTime", start), ("endTime", end)] {
        if value.is_some_and(|v| v < 0) {
            return Err(constraint(name, value.unwrap_or_default(), "have value greater than or equal to 0"));
        }
    }
    Ok((start, end))
}

fn get_log_events(context: &Context, members: &Members<'_>) -> Answer {
    let group = members.group()?;
    let stream = members.required_string("logStreamName")?;
    let (start_ms, end_ms) = time_range(members)?;
    let page = context.store.get_events(&EventsQuery {
        group,
        stream,
        start_ms,
        end_ms,
        token: members.string("nextToken")?,
        limit: members.limit("limit", 10_000, 10_000)?,
        start_from_head: members.boolean("startFromHead")?.unwrap_or(false),
    })?;
    let events: Vec<Value> = page.events.iter().map(wire::event).collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": page.forward_token,
        "nextBackwardToken": page.backward_token,
    }))
}

fn filter_log_events(context: &Context, members: &Members<'_>) -> Answer {
    let group = members.group()?;
    let names = members.strings("logStreamNames")?;
    let prefix = members.string("logStreamNamePrefix")?;
    let streams = match (names, prefix) {
        (Some(_), Some(_)) => {
            return Err(Json11Error::invalid_parameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ))
        }
        (Some(names), None) if names.is_empty() || names.len() > 100 => {
            return Err(constraint("logStreamNames", names.len(), "have length between 1 and 100"))
        }
        (Some(names), None) => StreamSelection::Names(names),
        (None, Some(prefix)) => StreamSelection::Prefix(prefix),
        (None, None) => StreamSelection::All,
    };
    let (start_ms, end_ms) = time_range(members)?;
    let pattern = FilterPattern::parse(&members.string("filterPattern")?.unwrap_or_default())
        .map_err(|e| Json11Error::invalid_parameter(e.to_string()))?;
    let page = context.store.filter_events(&FilterQuery {
        group,
        streams,
        tenant: None,
        start_ms,
        end_ms,
        pattern,
        limit: members.limit("limit", 10_000, 10_000)?,
        token: members.string("nextToken")?,
    })?;
    let events: Vec<Value> = page.events.iter().map(wire::filtered_event).collect();
    let complete = page.next_token.is_none();
    let searched: Vec<Value> = page
        .searched
        .iter()
        .map(|name| json!({ "logStreamName": name, "searchedCompletely": complete }))
        .collect();
    let mut answer = json!({ "events": events, "searchedLogStreams": searched });
    if let Some(token) = page.next_token {
        answer["nextToken"] = json!(token);
    }
    Ok(answer)
}
