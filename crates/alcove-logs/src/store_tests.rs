use super::*;

fn open(dir: &Path, max_bytes: u64) -> LogStore {
    LogStore::open(&dir.join("logs.db"), LogStoreSettings { max_bytes }).unwrap()
}

fn owner(stream: &str, tenant: &str) -> StreamOwner {
    StreamOwner {
        group: "/aws/lambda/f".into(),
        stream: stream.into(),
        function: Some("f".into()),
        function_version: Some("$LATEST".into()),
        tenant: Some(tenant.into()),
    }
}

fn lines(n: std::ops::Range<usize>) -> Vec<u8> {
    n.map(|i| format!("line {i}\n")).collect::<String>().into_bytes()
}

fn messages(events: &[LogEvent]) -> Vec<String> {
    events.iter().map(|e| e.message.clone()).collect()
}

fn query(limit: usize, token: Option<String>, start_from_head: bool) -> EventsQuery {
    EventsQuery {
        group: "/aws/lambda/f".into(),
        stream: "s".into(),
        limit,
        token,
        start_from_head,
        ..Default::default()
    }
}

#[test]
fn appends_survive_reopening_with_their_owner() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), u64::MAX);
        let writer = store.open_stream(owner("s", "blue")).unwrap();
        writer.append_lines(b"one\ntwo\n").unwrap();
    }
    let store = open(dir.path(), u64::MAX);
    let page = store.get_events(&query(100, None, true)).unwrap();
    assert_eq!(messages(&page.events), ["one\n", "two\n"]);
    let streams = store.streams_of_tenant("/aws/lambda/f", Some("blue")).unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].function_version.as_deref(), Some("$LATEST"));
    assert_eq!(streams[0].stored_bytes, 8 + 2 * EVENT_OVERHEAD);
    assert_eq!(store.total_bytes(), 8 + 2 * EVENT_OVERHEAD);
    let groups = store.describe_groups(&GroupQuery { limit: 50, ..Default::default() }).unwrap();
    assert_eq!(groups.items[0].function.as_deref(), Some("f"));
}

#[test]
fn forward_tokens_page_through_each_event_once_and_repeat_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    let writer = store.open_stream(owner("s", "blue")).unwrap();
    writer.append_lines(&lines(0..25)).unwrap();
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = store.get_events(&query(10, token.clone(), true)).unwrap();
        seen.extend(messages(&page.events));
        if token.as_deref() == Some(page.forward_token.as_str()) {
            assert!(page.events.is_empty());
            break;
        }
        token = Some(page.forward_token);
    }
    assert_eq!(seen, messages_of(0..25));
    // New events show up after the last token.
    writer.append_lines(&lines(25..27)).unwrap();
    let page = store.get_events(&query(10, token, true)).unwrap();
    assert_eq!(messages(&page.events), messages_of(25..27));
}

fn messages_of(n: std::ops::Range<usize>) -> Vec<String> {
    n.map(|i| format!("line {i}\n")).collect()
}

#[test]
fn without_a_token_the_newest_events_come_and_backward_tokens_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    store.open_stream(owner("s", "blue")).unwrap().append_lines(&lines(0..25)).unwrap();
    let newest = store.get_events(&query(10, None, false)).unwrap();
    assert_eq!(messages(&newest.events), messages_of(15..25));
    let before = store.get_events(&query(10, Some(newest.backward_token), false)).unwrap();
    assert_eq!(messages(&before.events), messages_of(5..15));
    let first = store.get_events(&query(10, Some(before.backward_token), false)).unwrap();
    assert_eq!(messages(&first.events), messages_of(0..5));
    let none = store.get_events(&query(10, Some(first.backward_token.clone()), false)).unwrap();
    assert!(none.events.is_empty());
    assert_eq!(none.backward_token, first.backward_token);
}

#[test]
fn time_bounds_include_the_start_and_exclude_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    store.create_group("g").unwrap();
    store.create_stream("g", "s").unwrap();
    let events: Vec<(i64, String)> = (0..5).map(|i| (1000 * i, format!("e{i}"))).collect();
    store.put_events("g", "s", &events).unwrap();
    let page = store
        .get_events(&EventsQuery {
            group: "g".into(),
            stream: "s".into(),
            start_ms: Some(1000),
            end_ms: Some(3000),
            limit: 100,
            start_from_head: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(messages(&page.events), ["e1", "e2"]);
}

#[test]
fn filtering_by_pattern_tenant_and_stream_pages_with_next_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    let blue = store.open_stream(owner("2026/01/01/[$LATEST]b", "BlueTenant")).unwrap();
    let green = store.open_stream(owner("2026/01/01/[$LATEST]g", "GreenTenant")).unwrap();
    for i in 0..10 {
        blue.append_lines(format!("{{\"tenantId\": \"BlueTenant\", \"n\": {i}}}\nplain blue\n").as_bytes())
            .unwrap();
        green
            .append_lines(format!("{{\"tenantId\": \"GreenTenant\", \"n\": {i}}}\nplain green\n").as_bytes())
            .unwrap();
    }
    let filter = |pattern: &str, limit: usize, token: Option<String>| FilterQuery {
        group: "/aws/lambda/f".into(),
        streams: StreamSelection::All,
        tenant: None,
        start_ms: None,
        end_ms: None,
        pattern: FilterPattern::parse(pattern).unwrap(),
        limit,
        token,
    };
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = store.filter_events(&filter(r#"{ $.tenantId = "BlueTenant" }"#, 3, token)).unwrap();
        assert_eq!(page.searched.len(), 2);
        found.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(found.len(), 10);
    assert!(found.iter().all(|e| e.stream.ends_with("]b") && e.tenant.as_deref() == Some("BlueTenant")));
    let ns: Vec<String> = found.iter().map(|e| e.event.message.clone()).collect();
    assert!(ns.windows(2).all(|w| w[0] != w[1]), "each event once");

    let plain = store.filter_events(&filter("plain -blue", 100, None)).unwrap();
    assert_eq!(plain.events.len(), 10);
    assert!(plain.events.iter().all(|e| e.event.message == "plain green\n"));

    let by_tenant = FilterQuery { tenant: Some("GreenTenant".into()), ..filter("", 100, None) };
    assert_eq!(store.filter_events(&by_tenant).unwrap().events.len(), 20);
    let by_name = FilterQuery {
        streams: StreamSelection::Names(vec!["2026/01/01/[$LATEST]b".into()]),
        ..filter("", 100, None)
    };
    let page = store.filter_events(&by_name).unwrap();
    assert_eq!((page.events.len(), page.searched.len()), (20, 1));
    let by_prefix = FilterQuery {
        streams: StreamSelection::Prefix("2026/01/01/[$LATEST]g".into()),
        ..filter("", 100, None)
    };
    assert!(store
        .filter_events(&by_prefix)
        .unwrap()
        .events
        .iter()
        .all(|e| e.tenant.as_deref() == Some("GreenTenant")));
}

#[test]
fn streams_list_by_name_or_last_event_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    store.create_group("g").unwrap();
    for (name, ts) in [("b", 3000), ("a", 1000), ("c", 2000)] {
        store.create_stream("g", name).unwrap();
        store.put_events("g", name, &[(ts, "x".into())]).unwrap();
    }
    let list = |order, descending, limit, token| {
        store
            .describe_streams(&StreamQuery {
                group: "g".into(),
                order,
                descending,
                limit,
                token,
                prefix: None,
            })
            .unwrap()
    };
    let first = list(StreamOrder::Name, false, 2, None);
    assert_eq!(first.items.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let rest = list(StreamOrder::Name, false, 2, first.next_token);
    assert_eq!((rest.items[0].name.as_str(), rest.next_token), ("c", None));
    let by_time = list(StreamOrder::LastEventTime, true, 50, None);
    assert_eq!(by_time.items.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["b", "c", "a"]);
    assert!(matches!(
        store.describe_streams(&StreamQuery { group: "nope".into(), limit: 1, ..Default::default() }),
        Err(LogsError::GroupNotFound)
    ));
}

#[test]
fn retention_removes_expired_events_and_the_streams_they_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    store.create_group("g").unwrap();
    store.create_stream("g", "old").unwrap();
    store.create_stream("g", "mixed").unwrap();
    let now = now_ms();
    let day = 86_400_000;
    store.put_events("g", "old", &[(now - 3 * day, "old".into())]).unwrap();
    store
        .put_events("g", "mixed", &[(now - 2 * day, "expired".into()), (now - 1000, "fresh".into())])
        .unwrap();
    assert_eq!(store.sweep(now).unwrap(), SweepReport::default(), "no retention, nothing expires");
    store.set_retention("g", Some(Retention::days(1).unwrap())).unwrap();
    // Streams are created now: the sweep removes only streams older than the retention.
    let report = store.sweep(now + 2 * day).unwrap();
    assert_eq!(report.expired_events, 3);
    assert_eq!(report.removed_streams, 2);
    let store = open(dir.path(), u64::MAX);
    assert_eq!(store.total_bytes(), 0);
    let left =
        store.describe_streams(&StreamQuery { group: "g".into(), limit: 50, ..Default::default() }).unwrap();
    assert!(left.items.is_empty());
}

#[test]
fn retention_keeps_fresh_events_and_their_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    store.create_group("g").unwrap();
    store.create_stream("g", "mixed").unwrap();
    let now = now_ms();
    let day = 86_400_000;
    store
        .put_events("g", "mixed", &[(now - 2 * day, "expired".into()), (now - 1000, "fresh".into())])
        .unwrap();
    store.set_retention("g", Some(Retention::days(1).unwrap())).unwrap();
    assert_eq!(store.sweep(now).unwrap().expired_events, 1);
    let page = store
        .get_events(&EventsQuery {
            group: "g".into(),
            stream: "mixed".into(),
            limit: 10,
            start_from_head: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(messages(&page.events), ["fresh"]);
    assert_eq!(store.total_bytes(), 5 + EVENT_OVERHEAD);
}

#[test]
fn the_cap_drops_closed_streams_oldest_first_before_open_ones() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{}\n", "x".repeat(973)); // 1000 bytes with the overhead
    let store = open(dir.path(), 10_000);
    let oldest = store.open_stream(owner("oldest", "a")).unwrap();
    oldest.append_lines(line.repeat(3).as_bytes()).unwrap();
    let older = store.open_stream(owner("older", "b")).unwrap();
    older.append_lines(line.repeat(3).as_bytes()).unwrap();
    let open_one = store.open_stream(owner("open", "c")).unwrap();
    open_one.append_lines(line.repeat(2).as_bytes()).unwrap();
    drop(oldest);
    drop(older);
    // 8000 bytes; 3000 more take the total to 11000, over the cap: down to 9000 at most,
    // by dropping the oldest closed stream whole.
    let newest = store.open_stream(owner("newest", "d")).unwrap();
    newest.append_lines(line.repeat(3).as_bytes()).unwrap();
    let names: Vec<String> =
        store.streams_of_tenant("/aws/lambda/f", None).unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["newest", "older", "open"]);
    assert_eq!(store.total_bytes(), 8000);
    // Only open streams left over the cap: their oldest events go, oldest first.
    store.delete_stream("/aws/lambda/f", "older").unwrap();
    newest.append_lines(line.repeat(6).as_bytes()).unwrap();
    assert!(store.total_bytes() <= 9000, "{}", store.total_bytes());
    let open_left = store
        .get_events(&EventsQuery {
            group: "/aws/lambda/f".into(),
            stream: "open".into(),
            limit: 10,
            start_from_head: true,
            ..Default::default()
        })
        .unwrap();
    assert!(open_left.events.is_empty(), "the older open stream's events went first");
    let newest_left = store
        .get_events(&EventsQuery {
            group: "/aws/lambda/f".into(),
            stream: "newest".into(),
            limit: 100,
            start_from_head: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(newest_left.events.len(), 9);
}

#[test]
fn with_the_background_thread_the_cap_is_applied_off_the_append_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 10_000);
    store.start_sweeper(Duration::from_secs(3600));
    let line = format!("{}\n", "x".repeat(973));
    drop(store.open_stream(owner("old", "a")).unwrap().append_lines(line.repeat(5).as_bytes()));
    let writer = store.open_stream(owner("new", "b")).unwrap();
    writer.append_lines(line.repeat(6).as_bytes()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.total_bytes() > 9000 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let names: Vec<String> =
        store.streams_of_tenant("/aws/lambda/f", None).unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["new"]);
}

#[test]
fn a_deleted_group_comes_back_on_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), u64::MAX);
    let writer = store.open_stream(owner("s", "blue")).unwrap();
    writer.append_lines(b"before\n").unwrap();
    store.delete_group("/aws/lambda/f").unwrap();
    assert_eq!(store.total_bytes(), 0);
    assert!(matches!(store.get_events(&query(10, None, true)), Err(LogsError::GroupNotFound)));
    writer.append_lines(b"after\n").unwrap();
    assert_eq!(messages(&store.get_events(&query(10, None, true)).unwrap().events), ["after\n"]);
    assert!(matches!(store.create_group("/aws/lambda/f"), Err(LogsError::GroupExists)));
}
