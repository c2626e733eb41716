"""The S3 subset, driven by boto3 and the AWS CLI (`aws s3`, `aws s3api`): buckets,
objects, ranges, Content-MD5, listings, multipart uploads, S3's error shapes, virtual-host
addressing, durability across a restart and a `kill -9`, and Lambda code taken from S3."""

import base64
import hashlib
import os
import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.exceptions import ClientError

from harness import ROLE, make_zip
from helpers import unique, wait_active, wait_updated

# A SigV4 Authorization header naming S3, for raw requests (signatures are not checked yet).
S3_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/s3/aws4_request, "
           "SignedHeaders=host, Signature=0")


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


def bucket_name():
    return unique("bkt")


def s3_error(call, **kwargs):
    """(code, HTTP status, the error) of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def test_buckets_are_created_listed_and_deleted(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    listed = s3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert listed["Owner"]["ID"]
    code, status, error = s3_error(s3.create_bucket, Bucket=name)
    assert (code, status, error["BucketName"]) == ("BucketAlreadyOwnedByYou", 409, name)
    assert s3_error(s3.create_bucket, Bucket="no_such-Bucket")[:2] == ("InvalidBucketName", 400)
    assert s3_error(s3.create_bucket, Bucket="192.168.0.1")[:2] == ("InvalidBucketName", 400)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert s3_error(s3.delete_bucket, Bucket=name)[:2] == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="k")
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    # HEAD errors carry no body: boto3 names them by status.
    assert s3_error(s3.head_bucket, Bucket=name)[:2] == ("404", 404)
    assert s3_error(s3.delete_bucket, Bucket=name)[:2] == ("NoSuchBucket", 404)


def test_a_location_constraint_is_kept(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"


def test_no_bucket_has_a_default_encryption_configuration(s3):
    # Objects are stored unencrypted, so the answer is S3's for a bucket without one.
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert s3_error(s3.get_bucket_encryption, Bucket=name)[:2] == \
        ("ServerSideEncryptionConfigurationNotFoundError", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_encryption(Bucket=name)
    assert caught.value.response["Error"]["BucketName"] == name
    assert s3_error(s3.get_bucket_encryption, Bucket=f"{name}-missing")[:2] == ("NoSuchBucket", 404)


def test_objects_keep_their_body_etag_and_headers(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=name, Key="dir/obj.bin", Body=data, ContentType="application/x-test",
                        Metadata={"Owner": "me"}, CacheControl="max-age=60", ContentDisposition="inline")
    md5 = hashlib.md5(data).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    got = s3.get_object(Bucket=name, Key="dir/obj.bin")
    assert got["Body"].read() == data
    assert (got["ETag"], got["ContentLength"], got["ContentType"]) == (f'"{md5}"', len(data), "application/x-test")
    assert (got["Metadata"], got["CacheControl"], got["ContentDisposition"]) == ({"owner": "me"}, "max-age=60", "inline")
    head = s3.head_object(Bucket=name, Key="dir/obj.bin")
    assert (head["ContentLength"], head["ETag"], head["Metadata"]) == (len(data), f'"{md5}"', {"owner": "me"})
    assert head["LastModified"] == got["LastModified"]
    # An overwrite replaces the whole object.
    s3.put_object(Bucket=name, Key="dir/obj.bin", Body=b"short")
    got = s3.get_object(Bucket=name, Key="dir/obj.bin")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"short", "binary/octet-stream", {})
    # Deleting is idempotent: 204 whether or not the key is there.
    assert s3.delete_object(Bucket=name, Key="dir/obj.bin")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=name, Key="dir/obj.bin")["ResponseMetadata"]["HTTPStatusCode"] == 204
    code, status, error = s3_error(s3.get_object, Bucket=name, Key="dir/obj.bin")
    assert (code, status, error["Message"], error["Key"]) == (
        "NoSuchKey", 404, "The specified key does not exist.", "dir/obj.bin")
    assert s3_error(s3.head_object, Bucket=name, Key="dir/obj.bin")[:2] == ("404", 404)
    code, status, error = s3_error(s3.get_object, Bucket=bucket_name(), Key="k")
    assert (code, status, error["Message"]) == ("NoSuchBucket", 404, "The specified bucket does not exist")
    assert s3_error(s3.put_object, Bucket=bucket_name(), Key="k", Body=b"x")[:2] == ("NoSuchBucket", 404)


def test_ranges(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    data = bytes(range(100))
    s3.put_object(Bucket=name, Key="r", Body=data)
    for header, (first, last) in [("bytes=2-5", (2, 5)), ("bytes=90-", (90, 99)), ("bytes=-3", (97, 99)),
                                  ("bytes=95-1000", (95, 99))]:
        got = s3.get_object(Bucket=name, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206, header
        assert got["ContentRange"] == f"bytes {first}-{last}/100", header
        assert got["Body"].read() == data[first:last + 1], header
        assert got["ContentLength"] == last - first + 1
    code, status, error = s3_error(s3.get_object, Bucket=name, Key="r", Range="bytes=100-")
    assert (code, status, error["Message"]) == ("InvalidRange", 416, "The requested range is not satisfiable")


def test_content_md5_is_checked(s3, server):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    code, status, error = s3_error(s3.put_object, Bucket=name, Key="m", Body=b"payload", ContentMD5=wrong)
    assert (code, status) == ("BadDigest", 400)
    assert error["Message"] == "The Content-MD5 you specified did not match what we received."
    assert s3_error(s3.head_object, Bucket=name, Key="m")[:2] == ("404", 404)
    right = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    s3.put_object(Bucket=name, Key="m", Body=b"payload", ContentMD5=right)
    assert s3.get_object(Bucket=name, Key="m")["Body"].read() == b"payload"
    # Not base64 of 16 bytes: InvalidDigest, in S3's XML error shape.
    reply = requests.put(f"{server.url}/{name}/m", data=b"x", timeout=10,
                         headers={"Authorization": S3_AUTH, "Content-MD5": "not-a-digest"})
    assert reply.status_code == 400 and reply.headers["Content-Type"] == "application/xml"
    error = ET.fromstring(reply.content)
    assert (error.tag, error.findtext("Code"), bool(error.findtext("RequestId"))) == ("Error", "InvalidDigest", True)
    # The CRC32 flexible checksum boto3 sends with every upload is checked too.
    reply = requests.put(f"{server.url}/{name}/c", data=b"hello world", timeout=10,
                         headers={"Authorization": S3_AUTH, "x-amz-checksum-crc32": "AAAAAA=="})
    assert (reply.status_code, ET.fromstring(reply.content).findtext("Code")) == (400, "BadDigest")
    reply = requests.put(f"{server.url}/{name}/c", data=b"hello world", timeout=10,
                         headers={"Authorization": S3_AUTH, "x-amz-checksum-crc32": "DUoRhQ=="})
    assert (reply.status_code, reply.headers["x-amz-checksum-crc32"]) == (200, "DUoRhQ==")


def test_aws_chunked_bodies_are_stored_decoded(s3, server):
    """SDKs that stream with a trailing checksum send `aws-chunked` bodies; the object is
    the decoded bytes."""
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    headers = {"Authorization": S3_AUTH, "Content-Encoding": "aws-chunked",
               "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "x-amz-decoded-content-length": "11", "x-amz-trailer": "x-amz-checksum-crc32"}
    reply = requests.put(f"{server.url}/{name}/chunked", data=body, headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    got = s3.get_object(Bucket=name, Key="chunked")
    assert (got["Body"].read(), got.get("ContentEncoding")) == (b"hello world", None)
    # A declared length the chunks do not add up to: refused, nothing stored.
    reply = requests.put(f"{server.url}/{name}/short", data=body, timeout=10,
                         headers={**headers, "x-amz-decoded-content-length": "12"})
    assert reply.status_code == 400 and ET.fromstring(reply.content).findtext("Code") == "IncompleteBody"
    # A trailing checksum that does not match the decoded bytes.
    wrong = body.replace(b"DUoRhQ==", b"AAAAAA==")
    reply = requests.put(f"{server.url}/{name}/bad", data=wrong, headers=headers, timeout=10)
    assert reply.status_code == 400 and ET.fromstring(reply.content).findtext("Code") == "BadDigest"
    assert s3_error(s3.head_object, Bucket=name, Key="short")[:2] == ("404", 404)


def test_list_objects_v2_prefixes_delimiters_and_pages(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    keys = ["a/1", "a/2", "b/1", "c", "d/x/1", "d/y", "sp ace+%"]
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket=name)
    assert [o["Key"] for o in listed["Contents"]] == sorted(keys)
    assert (listed["KeyCount"], listed["IsTruncated"]) == (7, False)
    assert listed["Contents"][0]["ETag"] == f'"{hashlib.md5(b"a/1").hexdigest()}"'
    assert listed["Contents"][0]["Size"] == 3
    top = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["c", "sp ace+%"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "d/"]
    inner = s3.list_objects_v2(Bucket=name, Prefix="d/", Delimiter="/")
    assert ([o["Key"] for o in inner["Contents"]], [p["Prefix"] for p in inner["CommonPrefixes"]]) == (
        ["d/y"], ["d/x/"])
    after = s3.list_objects_v2(Bucket=name, StartAfter="c")
    assert [o["Key"] for o in after["Contents"]] == ["d/x/1", "d/y", "sp ace+%"]
    first = s3.list_objects_v2(Bucket=name, MaxKeys=3)
    assert (first["IsTruncated"], first["KeyCount"], len(first["Contents"])) == (True, 3, 3)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name, Delimiter="/", PaginationConfig={"PageSize": 2})
    seen, prefixes = [], []
    for page in pages:
        seen += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert (seen, prefixes) == (["c", "sp ace+%"], ["a/", "b/", "d/"])
    code, status, _ = s3_error(s3.list_objects_v2, Bucket=name, ContinuationToken="%%%")
    assert (code, status) == ("InvalidArgument", 400)
    assert s3_error(s3.list_objects_v2, Bucket=bucket_name())[:2] == ("NoSuchBucket", 404)
    # ListObjects (V1) pages by marker.
    v1 = s3.list_objects(Bucket=name, Marker="b/1", MaxKeys=2)
    assert ([o["Key"] for o in v1["Contents"]], v1["IsTruncated"]) == (["c", "d/x/1"], True)


def test_multipart_upload_with_boto3(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    upload = s3.create_multipart_upload(Bucket=name, Key="big", ContentType="application/zip")
    uid = upload["UploadId"]
    part1, part2 = os.urandom(5 * 1024 * 1024), os.urandom(1000)
    e1 = s3.upload_part(Bucket=name, Key="big", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=name, Key="big", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    assert e1 == f'"{hashlib.md5(part1).hexdigest()}"'
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=name, Key="big", UploadId=uid)["Parts"]] == [1, 2]
    code, status, _ = s3_error(s3.complete_multipart_upload, Bucket=name, Key="big", UploadId=uid,
                               MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2},
                                                          {"PartNumber": 1, "ETag": e1}]})
    assert (code, status) == ("InvalidPartOrder", 400)
    code, status, _ = s3_error(s3.complete_multipart_upload, Bucket=name, Key="big", UploadId=uid,
                               MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
    assert (code, status) == ("InvalidPart", 400)
    done = s3.complete_multipart_upload(Bucket=name, Key="big", UploadId=uid,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                                   {"PartNumber": 2, "ETag": e2}]})
    whole = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert done["ETag"] == f'"{whole}-2"'
    got = s3.get_object(Bucket=name, Key="big")
    assert (got["Body"].read() == part1 + part2, got["ETag"], got["ContentType"]) == (
        True, f'"{whole}-2"', "application/zip")
    assert s3_error(s3.abort_multipart_upload, Bucket=name, Key="big", UploadId=uid)[:2] == ("NoSuchUpload", 404)
    # Every part but the last must be 5 MiB; an aborted upload is gone.
    small = s3.create_multipart_upload(Bucket=name, Key="small")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=name, Key="small", UploadId=small, PartNumber=n,
                                                         Body=b"tiny")["ETag"]} for n in (1, 2)]
    code, status, _ = s3_error(s3.complete_multipart_upload, Bucket=name, Key="small", UploadId=small,
                               MultipartUpload={"Parts": parts})
    assert (code, status) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=name, Key="small", UploadId=small)
    code, status, _ = s3_error(s3.upload_part, Bucket=name, Key="small", UploadId=small, PartNumber=3, Body=b"x")
    assert (code, status) == ("NoSuchUpload", 404)
    assert s3_error(s3.head_object, Bucket=name, Key="small")[:2] == ("404", 404)


def test_the_aws_cli_copies_large_files_in_parts(server, tmp_path):
    name = bucket_name()
    code, _, err = server.aws("s3", "mb", f"s3://{name}")
    assert code == 0, err
    data = os.urandom(9 * 1024 * 1024)
    source, back = tmp_path / "big.bin", tmp_path / "back.bin"
    source.write_bytes(data)
    code, _, err = server.aws("s3", "cp", source, f"s3://{name}/files/big.bin")
    assert code == 0, err
    # The CLI's 8 MiB part size made two parts.
    code, head, err = server.aws("s3api", "head-object", "--bucket", name, "--key", "files/big.bin")
    assert code == 0, err
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-2"'), head
    code, out, err = server.aws("s3", "ls", f"s3://{name}/files/")
    assert code == 0 and "big.bin" in out and str(len(data)) in out, (out, err)
    code, out, err = server.aws("s3", "ls")
    assert code == 0 and name in out, (out, err)
    code, _, err = server.aws("s3", "cp", f"s3://{name}/files/big.bin", back)
    assert code == 0, err
    assert back.read_bytes() == data
    code, _, err = server.aws("s3", "rb", f"s3://{name}")
    assert code != 0 and "BucketNotEmpty" in err, err
    code, _, err = server.aws("s3", "rb", f"s3://{name}", "--force")
    assert code == 0, err
    code, _, err = server.aws("s3api", "head-bucket", "--bucket", name)
    assert code != 0 and "404" in err, err


def test_unsupported_operations_answer_not_implemented_in_xml(s3, server):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert s3_error(s3.get_bucket_acl, Bucket=name)[:2] == ("NotImplemented", 501)
    assert s3_error(s3.put_bucket_versioning, Bucket=name,
                    VersioningConfiguration={"Status": "Enabled"})[:2] == ("NotImplemented", 501)
    reply = requests.get(f"{server.url}/{name}?policy", headers={"Authorization": S3_AUTH}, timeout=10)
    assert (reply.status_code, reply.headers["Content-Type"]) == (501, "application/xml")
    assert ET.fromstring(reply.content).findtext("Code") == "NotImplemented"


def test_virtual_host_addressing(server, s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    port = server.url.rsplit(":", 1)[1]
    headers = {"Authorization": S3_AUTH, "Host": f"{name}.localhost:{port}"}
    reply = requests.put(f"{server.url}/vh/key.txt", data=b"by host", headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    # Path-style reads what virtual-host style wrote, and the other way round.
    assert s3.get_object(Bucket=name, Key="vh/key.txt")["Body"].read() == b"by host"
    reply = requests.get(f"{server.url}/vh/key.txt", headers={**headers, "Host": f"{name}.s3.us-east-1.example.com"},
                         timeout=10)
    assert (reply.status_code, reply.content) == (200, b"by host")
    listing = requests.get(f"{server.url}/?list-type=2", headers=headers, timeout=10)
    keys = [e.text for e in ET.fromstring(listing.content).iter("{http://s3.amazonaws.com/doc/2006-03-01/}Key")]
    assert keys == ["vh/key.txt"]


def test_objects_survive_restart_and_kill9(server_factory, tmp_path):
    data_dir = tmp_path / "data"
    server = server_factory.start(data_dir)
    s3 = server.client("s3")
    s3.create_bucket(Bucket="durable")
    s3.put_object(Bucket="durable", Key="one", Body=b"first", Metadata={"k": "v"})
    server.stop()
    server = server_factory.start(data_dir)
    s3 = server.client("s3")
    got = s3.get_object(Bucket="durable", Key="one")
    assert (got["Body"].read(), got["Metadata"]) == (b"first", {"k": "v"})
    data = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="durable", Key="two", Body=data)
    server.kill9()
    server = server_factory.start(data_dir)
    s3 = server.client("s3")
    assert s3.get_object(Bucket="durable", Key="two")["Body"].read() == data
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="durable")["Contents"]] == ["one", "two"]


def python_zip(answer):
    return make_zip({"app.py": f"def handler(event, context):\n    return {answer!r}\n"})


def test_lambda_code_from_s3(server, s3, lambda_client):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="pkg/v1.zip", Body=python_zip("from s3 v1"))
    fn = unique()
    created = lambda_client.create_function(FunctionName=fn, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                                            Code={"S3Bucket": name, "S3Key": "pkg/v1.zip"})
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(python_zip("from s3 v1")).digest()).decode()
    wait_active(lambda_client, fn)
    assert lambda_client.invoke(FunctionName=fn)["Payload"].read() == b'"from s3 v1"'
    s3.put_object(Bucket=name, Key="pkg/v2.zip", Body=python_zip("from s3 v2"))
    lambda_client.update_function_code(FunctionName=fn, S3Bucket=name, S3Key="pkg/v2.zip")
    wait_updated(lambda_client, fn)
    assert lambda_client.invoke(FunctionName=fn)["Payload"].read() == b'"from s3 v2"'
    # The CLI's shorthand takes the same path.
    code, out, err = server.aws("lambda", "update-function-code", "--function-name", fn,
                                "--s3-bucket", name, "--s3-key", "pkg/v1.zip")
    assert code == 0, err
    wait_updated(lambda_client, fn)
    assert lambda_client.invoke(FunctionName=fn)["Payload"].read() == b'"from s3 v1"'


def test_lambda_code_from_s3_errors(s3, lambda_client):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="ok.zip", Body=python_zip(1))

    def create(code):
        with pytest.raises(ClientError) as caught:
            lambda_client.create_function(FunctionName=unique(), Runtime="python3.12", Handler="app.handler",
                                          Role=ROLE, Code=code)
        return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]

    assert create({"S3Bucket": name, "S3Key": "missing.zip"}) == (
        "InvalidParameterValueException",
        "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
    assert create({"S3Bucket": bucket_name(), "S3Key": "ok.zip"}) == (
        "InvalidParameterValueException",
        "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
    code, _ = create({"S3Bucket": name, "S3Key": "ok.zip", "ZipFile": python_zip(1)})
    assert code == "InvalidParameterValueException"
    code, message = create({"S3Bucket": name, "S3Key": "ok.zip", "S3ObjectVersion": "3"})
    assert code == "InvalidParameterValueException" and "S3ObjectVersion" in message
    s3.put_object(Bucket=name, Key="not-a-zip", Body=b"plain text")
    assert create({"S3Bucket": name, "S3Key": "not-a-zip"}) == (
        "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.")
    fn = unique()
    lambda_client.create_function(FunctionName=fn, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                                  Code={"S3Bucket": name, "S3Key": "ok.zip"})
    wait_active(lambda_client, fn)
    with pytest.raises(ClientError) as caught:
        lambda_client.update_function_code(FunctionName=fn, S3Bucket=name, S3Key="gone.zip")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "S3 Error Code: NoSuchKey" in caught.value.response["Error"]["Message"]
