"""TLS on the main listener: `--tls-cert`/`--tls-key` make it HTTPS only, with HTTP/2 and
HTTP/1.1 offered by ALPN; SIGHUP swaps in the certificate the files hold then, without
dropping open connections; a certificate that cannot serve stops the start."""

import http.client
import os
import signal
import ssl
import subprocess
import time
import uuid

import boto3
import httpx
import pytest
import requests
import trustme
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from cryptography import x509

from harness import Server, binary


@pytest.fixture
def ca():
    return trustme.CA()


def write_pair(ca, directory):
    """Issues a fresh certificate for 127.0.0.1 and writes it (with the CA) as PEM files;
    returns (cert path, key path, CA path, serial number)."""
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    ca_path = os.path.join(directory, "ca.pem")
    with open(cert_path, "wb") as f:
        for blob in leaf.cert_chain_pems:
            f.write(blob.bytes())
    leaf.private_key_pem.write_to_path(key_path)
    ca.cert_pem.write_to_path(ca_path)
    serial = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number
    return cert_path, key_path, ca_path, serial


def served_serial(url, ca_path):
    """The serial number of the certificate a new connection is served."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca_path)
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    conn.connect()
    try:
        der = conn.sock.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der).serial_number
    finally:
        conn.close()


@pytest.fixture
def tls_server(tmp_path, ca):
    cert, key, ca_path, serial = write_pair(ca, str(tmp_path))
    server = Server(tmp_path / "data", "--tls-cert", cert, "--tls-key", key, "--insecure-no-sandbox").start()
    server.ca_path, server.serial, server.cert, server.key = ca_path, serial, cert, key
    yield server
    server.stop()


def client(server, service):
    return boto3.client(
        service, endpoint_url=server.url, region_name="us-east-1", verify=server.ca_path,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_https_with_boto3_and_the_aws_cli(tls_server):
    assert tls_server.url.startswith("https://127.0.0.1:")
    assert "Functions" in client(tls_server, "lambda").list_functions()
    s3 = client(tls_server, "s3")
    bucket = f"tls-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"over TLS")
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"over TLS"
    code, out, err = tls_server.aws("--ca-bundle", tls_server.ca_path, "s3api", "list-objects-v2", "--bucket", bucket)
    assert code == 0, err
    assert [o["Key"] for o in out["Contents"]] == ["a/b.txt"]
    # Without the CA the CLI refuses the certificate: verification is real.
    code, _, err = tls_server.aws("s3api", "list-buckets")
    assert code != 0
    assert "certificate" in err.lower() or "ssl" in err.lower(), err


def signed_s3(method, url, body=b""):
    """SigV4 headers for an S3 request (the signature covers the host, which HTTP/2
    carries as `:authority`)."""
    request = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    return dict(request.headers)


def test_http2_is_negotiated(tls_server):
    with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=tls_server.ca_path), timeout=10) as h2:
        response = h2.get(f"{tls_server.url}/2015-03-31/functions")
        assert response.http_version == "HTTP/2"
        assert response.status_code < 500
        # Routes that read the Host header still find it: HTTP/2 sends `:authority`.
        bucket = f"h2-{uuid.uuid4().hex[:12]}"
        for method, path, body in [("PUT", f"/{bucket}", b""), ("PUT", f"/{bucket}/k", b"two")]:
            url = f"{tls_server.url}{path}"
            response = h2.request(method, url, content=body, headers=signed_s3(method, url, body))
            assert response.http_version == "HTTP/2"
            assert response.status_code == 200, response.text
        url = f"{tls_server.url}/{bucket}/k"
        assert h2.get(url, headers=signed_s3("GET", url)).content == b"two"
    with httpx.Client(http2=False, verify=ssl.create_default_context(cafile=tls_server.ca_path), timeout=10) as h1:
        assert h1.get(f"{tls_server.url}/2015-03-31/functions").http_version == "HTTP/1.1"


def test_plain_http_to_the_tls_port_fails(tls_server):
    plain = tls_server.url.replace("https://", "http://")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{plain}/2015-03-31/functions", timeout=10)


def test_sighup_reloads_the_certificate_without_dropping_connections(tls_server, ca, tmp_path):
    assert served_serial(tls_server.url, tls_server.ca_path) == tls_server.serial
    host, port = tls_server.url.removeprefix("https://").rsplit(":", 1)
    open_conn = http.client.HTTPSConnection(
        host, int(port), context=ssl.create_default_context(cafile=tls_server.ca_path), timeout=10)
    open_conn.request("GET", "/2015-03-31/functions")
    open_conn.getresponse().read()

    _, _, _, new_serial = write_pair(ca, os.path.dirname(tls_server.cert))
    assert new_serial != tls_server.serial
    tls_server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while served_serial(tls_server.url, tls_server.ca_path) != new_serial:
        assert time.monotonic() < deadline, f"the new certificate is not served; log:\n{tls_server.log()}"
        time.sleep(0.1)
    # The connection opened before the reload still works.
    open_conn.request("GET", "/2015-03-31/functions")
    assert open_conn.getresponse().status < 500
    open_conn.close()

    # A broken file on reload keeps the certificate in use and says why.
    with open(tls_server.cert, "w") as f:
        f.write("not a certificate\n")
    tls_server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while "cannot reload the TLS certificate" not in tls_server.log():
        assert time.monotonic() < deadline, f"no reload error logged; log:\n{tls_server.log()}"
        time.sleep(0.1)
    assert tls_server.proc.poll() is None
    assert served_serial(tls_server.url, tls_server.ca_path) == new_serial


@pytest.mark.parametrize("broken", ["cert", "key", "missing"])
def test_a_bad_certificate_at_start_refuses_to_start(tmp_path, ca, broken):
    cert, key, _, _ = write_pair(ca, str(tmp_path))
    if broken == "cert":
        with open(cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    elif broken == "key":
        with open(key, "w") as f:
            f.write("no key here\n")
    else:
        os.remove(cert)
    done = subprocess.run(
        [binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"),
         "--tls-cert", cert, "--tls-key", key, "--insecure-no-sandbox"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "alcove listening" not in done.stdout
    assert "TLS certificate" in done.stderr, done.stderr
    assert (cert if broken != "key" else key) in done.stderr, done.stderr
