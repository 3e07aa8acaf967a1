"""Writes Tests/Fixtures/s3-keys/vectors.json: botocore's SigV4 signatures of S3 requests for keys
the emulator's checker cannot verify (spaces, +, %, unicode, //, reserved characters), so the Swift
signer is checked against the AWS SDK's own signer for exactly those keys. Run with .venv/bin/python."""
import datetime
import json
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEYS = ["my photos/summer 2026.jpg", "a+b=c&d.jpg", "100%.jpg", "caf\u00e9/\u5199\u771f.jpeg", "a//b.jpg",
        "(1)!*',;:@$.jpg", "trailing/", "~user/x.jpg", "sp ace+plus%25.JPG", "\U0001F4F7/\u00fc.jpg"]
NOW = datetime.datetime(2026, 11, 21, 12, 0, 0)


def quote(key):
    # The wire path as the AWS SDKs send it for S3: every byte but A-Za-z0-9-_.~/ percent-encoded once.
    from urllib.parse import quote as q
    return q(key.encode("utf-8"), safe="/-_.~")


vectors = []
for key in KEYS:
    for method, body in (("GET", b""), ("PUT", b"payload bytes")):
        url = f"https://s3.eu-west-1.amazonaws.com/tessera-originals/{quote(key)}"
        request = AWSRequest(method=method, url=url, data=body)
        import hashlib
        request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        auth = S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"),
                           "s3", "eu-west-1")
        with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
            auth.add_auth(request)
        vectors.append({"key": key, "method": method, "path": url.split(".com", 1)[1],
                        "body": body.decode(), "authorization": request.headers["Authorization"]})
json.dump(vectors, open("Tests/Fixtures/s3-keys/vectors.json", "w"), indent=1, ensure_ascii=False)
print(f"{len(vectors)} vectors")
