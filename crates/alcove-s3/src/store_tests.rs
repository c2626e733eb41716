//! The store's behaviour through its public API, on a temporary directory.

use std::io::Read;

use md5::{Digest, Md5};

use crate::*;

fn store() -> (tempfile::TempDir, ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::open(&dir.path().join("s3")).unwrap();
    (dir, store)
}

fn staged(store: &ObjectStore, bytes: &[u8]) -> Staged {
    let mut staging = store.staging().unwrap();
    staging.write(bytes).unwrap();
    staging.finish().unwrap()
}

fn put(store: &ObjectStore, bucket: &str, key: &str, bytes: &[u8]) -> ObjectInfo {
    store.put_object(bucket, key, staged(store, bytes), ObjectHeaders::default()).unwrap()
}

fn read(store: &ObjectStore, bucket: &str, key: &str) -> Vec<u8> {
    let (_, mut file) = store.get_object(bucket, key).unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn buckets_are_created_once_listed_and_deleted_when_empty() {
    let (_dir, store) = store();
    store.create_bucket("beta", "us-east-1").unwrap();
    store.create_bucket("alpha", "eu-west-1").unwrap();
    assert!(matches!(
        store.create_bucket("alpha", "us-east-1"),
        Err(S3Error::BucketAlreadyOwnedByYou { .. })
    ));
    assert!(matches!(store.create_bucket("Bad_Name", "us-east-1"), Err(S3Error::InvalidBucketName { .. })));
    let names: Vec<_> = store.list_buckets().unwrap().into_iter().map(|b| (b.name, b.region)).collect();
    assert_eq!(names, [("alpha".into(), "eu-west-1".into()), ("beta".into(), "us-east-1".into())]);
    put(&store, "alpha", "k", b"x");
    assert!(matches!(store.delete_bucket("alpha"), Err(S3Error::BucketNotEmpty { .. })));
    store.delete_object("alpha", "k").unwrap();
    store.delete_object("alpha", "k").unwrap();
    store.delete_bucket("alpha").unwrap();
    assert!(matches!(store.bucket("alpha"), Err(S3Error::NoSuchBucket { .. })));
    assert!(matches!(store.delete_bucket("alpha"), Err(S3Error::NoSuchBucket { .. })));
}

#[test]
fn objects_keep_body_etag_and_headers_and_are_replaced_whole() {
    let (dir, store) = store();
    store.create_bucket("bkt", "us-east-1").unwrap();
    let mut headers = ObjectHeaders { content_type: Some("text/plain".into()), ..Default::default() };
    headers.user_metadata.insert("owner".into(), "me".into());
    let info = store.put_object("bkt", "a/key", staged(&store, b"hello"), headers.clone()).unwrap();
    assert_eq!(info.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(read(&store, "bkt", "a/key"), b"hello");
    let head = store.head_object("bkt", "a/key").unwrap();
    assert_eq!((head.size, head.headers), (5, headers));
    put(&store, "bkt", "a/key", b"bye");
    assert_eq!(read(&store, "bkt", "a/key"), b"bye");
    // The replaced body's file is gone; one body file remains.
    assert_eq!(std::fs::read_dir(dir.path().join("s3/objects")).unwrap().count(), 1);
    assert!(matches!(store.head_object("bkt", "nope"), Err(S3Error::NoSuchKey { .. })));
    assert!(matches!(store.head_object("nob", "k"), Err(S3Error::NoSuchBucket { .. })));
    let missing = store.put_object("nob", "k", staged(&store, b"x"), ObjectHeaders::default());
    assert!(matches!(missing, Err(S3Error::NoSuchBucket { .. })));
    assert_eq!(std::fs::read_dir(dir.path().join("s3/tmp")).unwrap().count(), 0);
}

#[test]
fn objects_survive_reopening_and_stray_files_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    {
        let store = ObjectStore::open(&root).unwrap();
        store.create_bucket("bkt", "us-east-1").unwrap();
        put(&store, "bkt", "k", b"durable");
        // A body a crash left half-written, and one renamed but never committed.
        std::fs::write(root.join("tmp/partial"), b"half").unwrap();
        std::fs::write(root.join("objects/orphan"), b"orphan").unwrap();
    }
    let store = ObjectStore::open(&root).unwrap();
    assert_eq!(read(&store, "bkt", "k"), b"durable");
    assert!(!root.join("tmp/partial").exists());
    assert!(!root.join("objects/orphan").exists());
}

#[test]
fn listing_pages_by_prefix_and_delimiter() {
    let (_dir, store) = store();
    store.create_bucket("bkt", "us-east-1").unwrap();
    for key in ["a/1", "a/2", "b/1", "c", "d/x/1", "d/y"] {
        put(&store, "bkt", key, key.as_bytes());
    }
    let list = |prefix: &str, delimiter: Option<&str>, max_keys: usize, after: Option<&str>| {
        let request = ListRequest {
            prefix: prefix.into(),
            delimiter: delimiter.map(Into::into),
            max_keys,
            after: after.map(Into::into),
        };
        let page = store.list_objects("bkt", &request).unwrap();
        let keys: Vec<String> = page.objects.into_iter().map(|o| o.key).collect();
        (keys, page.common_prefixes, page.next_after)
    };
    let (keys, prefixes, next) = list("", Some("/"), 1000, None);
    assert_eq!(
        (keys, prefixes, next),
        (vec!["c".to_owned()], vec!["a/".into(), "b/".into(), "d/".into()], None)
    );
    let (keys, prefixes, next) = list("d/", Some("/"), 1000, None);
    assert_eq!((keys, prefixes, next), (vec!["d/y".to_owned()], vec!["d/x/".into()], None));
    let (keys, _, next) = list("a/", None, 1000, None);
    assert_eq!((keys, next), (vec!["a/1".to_owned(), "a/2".into()], None));
    // Pages of two: a common prefix counts as one entry and a page resumes after it.
    let (keys, prefixes, next) = list("", Some("/"), 2, None);
    assert_eq!((keys, prefixes, next.clone()), (vec![], vec!["a/".into(), "b/".into()], Some("b/".into())));
    let (keys, prefixes, next) = list("", Some("/"), 2, next.as_deref());
    assert_eq!((keys, prefixes, next), (vec!["c".to_owned()], vec!["d/".into()], None));
    let (keys, _, next) = list("", None, 4, Some("a/2"));
    assert_eq!((keys, next), (vec!["b/1".to_owned(), "c".into(), "d/x/1".into(), "d/y".into()], None));
    let (keys, _, next) = list("", None, 3, None);
    assert_eq!((keys.len(), next), (3, Some("b/1".into())));
    assert!(matches!(
        store.list_objects("nob", &ListRequest { max_keys: 1, ..Default::default() }),
        Err(S3Error::NoSuchBucket { .. })
    ));
}

#[test]
fn multipart_uploads_join_parts_with_s3s_etag() {
    let (dir, store) = store();
    store.create_bucket("bkt", "us-east-1").unwrap();
    let headers = ObjectHeaders { content_type: Some("application/zip".into()), ..Default::default() };
    let id = store.create_upload("bkt", "big", headers.clone()).unwrap();
    let first = vec![7u8; MIN_PART_BYTES as usize];
    let e1 = store.upload_part("bkt", "big", &id, 1, staged(&store, &first)).unwrap();
    let e2 = store.upload_part("bkt", "big", &id, 2, staged(&store, b"tail")).unwrap();
    assert_eq!(store.list_parts("bkt", "big", &id).unwrap().len(), 2);
    // Out of order, an unknown part, a wrong ETag: refused, the upload stays.
    let refused = store.complete_upload("bkt", "big", &id, &[(2, e2.clone()), (1, e1.clone())]);
    assert!(matches!(refused, Err(S3Error::InvalidPartOrder)));
    let refused = store.complete_upload("bkt", "big", &id, &[(1, e1.clone()), (3, e2.clone())]);
    assert!(matches!(refused, Err(S3Error::InvalidPart)));
    let refused = store.complete_upload("bkt", "big", &id, &[(1, e2.clone())]);
    assert!(matches!(refused, Err(S3Error::InvalidPart)));
    let info =
        store.complete_upload("bkt", "big", &id, &[(1, format!("\"{e1}\"")), (2, e2.clone())]).unwrap();
    let mut whole = Md5::new();
    whole.update(hex::decode(&e1).unwrap());
    whole.update(hex::decode(&e2).unwrap());
    assert_eq!(info.etag, format!("{}-2", hex::encode(whole.finalize())));
    assert_eq!(info.size, MIN_PART_BYTES + 4);
    assert_eq!(info.headers, headers);
    let body = read(&store, "bkt", "big");
    assert_eq!((&body[..3], &body[body.len() - 4..]), (&[7u8, 7, 7][..], &b"tail"[..]));
    assert!(matches!(store.abort_upload("bkt", "big", &id), Err(S3Error::NoSuchUpload { .. })));
    assert_eq!(std::fs::read_dir(dir.path().join("s3/parts")).unwrap().count(), 0);
}

#[test]
fn small_parts_part_numbers_and_aborts() {
    let (dir, store) = store();
    store.create_bucket("bkt", "us-east-1").unwrap();
    let id = store.create_upload("bkt", "k", ObjectHeaders::default()).unwrap();
    let e1 = store.upload_part("bkt", "k", &id, 1, staged(&store, b"small")).unwrap();
    let e2 = store.upload_part("bkt", "k", &id, 2, staged(&store, b"last")).unwrap();
    let refused = store.complete_upload("bkt", "k", &id, &[(1, e1), (2, e2)]);
    assert!(matches!(refused, Err(S3Error::EntityTooSmall)));
    let refused = store.upload_part("bkt", "k", &id, 10_001, staged(&store, b"x"));
    assert!(matches!(refused, Err(S3Error::InvalidArgument(_))));
    let refused = store.upload_part("bkt", "k", "nope", 1, staged(&store, b"x"));
    assert!(matches!(refused, Err(S3Error::NoSuchUpload { .. })));
    store.abort_upload("bkt", "k", &id).unwrap();
    assert!(matches!(store.list_parts("bkt", "k", &id), Err(S3Error::NoSuchUpload { .. })));
    assert!(matches!(store.head_object("bkt", "k"), Err(S3Error::NoSuchKey { .. })));
    assert_eq!(std::fs::read_dir(dir.path().join("s3/parts")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(dir.path().join("s3/tmp")).unwrap().count(), 0);
}
