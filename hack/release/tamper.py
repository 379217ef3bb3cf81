#!/usr/bin/env python3
"""Tamper with an image in a plain-HTTP (loopback) OCI registry, for hack/release/attest.sh's
negative cases. Standard library only; speaks the OCI distribution API.

  tamper.py one-byte API DIGEST         push the image with one byte of its first layer changed
                                        (the gzip header's OS byte: same files, other bytes, so a
                                        new layer digest and a new manifest digest); print it
  tamper.py copy-signatures API FROM TO copy FROM's cosign signatures and attestations to TO: the
                                        sha256-<hex>.sig/.att tags, and the OCI referrers (and the
                                        sha256-<hex> referrers tag) re-pointed at TO
  tamper.py tag API DIGEST TAG          point TAG at DIGEST

API is http://HOST:PORT/v2/REPOSITORY. Nothing of FROM is changed or deleted.
"""

import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req, timeout=60)


def get_manifest(api, ref):
    """(bytes, media type) of a manifest, or None when it does not exist."""
    try:
        with request("GET", f"{api}/manifests/{ref}", headers={"Accept": ACCEPT}) as r:
            body = r.read()
            ctype = r.headers.get("Content-Type", "").split(";")[0]
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
    return body, json.loads(body).get("mediaType") or ctype


def put_manifest(api, ref, body, media_type):
    with request("PUT", f"{api}/manifests/{ref}", data=body, headers={"Content-Type": media_type}):
        pass
    return "sha256:" + hashlib.sha256(body).hexdigest()


def get_blob(api, digest):
    with request("GET", f"{api}/blobs/{digest}") as r:
        return r.read()


def put_blob(api, body):
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    with request("POST", f"{api}/blobs/uploads/", data=b"") as r:
        location = r.headers["Location"]
    url = urllib.parse.urljoin(api, location)
    url += ("&" if "?" in url else "?") + "digest=" + urllib.parse.quote(digest)
    with request("PUT", url, data=body, headers={"Content-Type": "application/octet-stream"}):
        pass
    return digest


def one_byte(api, digest):
    got = get_manifest(api, digest)
    if got is None:
        sys.exit(f"tamper: {digest} not found")
    body, media_type = got
    manifest = json.loads(body)
    if "layers" not in manifest or not manifest["layers"]:
        sys.exit(f"tamper: {digest} is not an image manifest with layers ({media_type})")
    layer = manifest["layers"][0]["digest"]
    blob = bytearray(get_blob(api, layer))
    if blob[:2] != b"\x1f\x8b":
        sys.exit(f"tamper: the first layer of {digest} is not gzip")
    blob[9] ^= 0x01  # the gzip header's OS byte: the layer still decompresses to the same files
    new_layer = put_blob(api, bytes(blob))
    new_body = body.replace(layer.encode(), new_layer.encode())
    assert len(new_body) == len(body) and new_body != body
    new = put_manifest(api, "sha256:" + hashlib.sha256(new_body).hexdigest(), new_body, media_type)
    print(f"tamper: byte 9 of layer {layer} ({blob[9] ^ 1:#04x} -> {blob[9]:#04x}): layer {new_layer}, "
          f"image {digest} -> {new}", file=sys.stderr)
    print(new)


def copy_signatures(api, src, dst):
    src_hex, dst_hex = src.split(":", 1)[1], dst.split(":", 1)[1]
    copied = 0
    # cosign's tag scheme (the classic signature format): sha256-<hex>.sig / .att
    for suffix in (".sig", ".att"):
        got = get_manifest(api, f"sha256-{src_hex}{suffix}")
        if got:
            put_manifest(api, f"sha256-{dst_hex}{suffix}", *got)
            copied += 1
    # OCI 1.1 referrers (cosign's bundle format): the same manifests with their subject re-pointed.
    referrers = []
    try:
        with request("GET", f"{api}/referrers/{src}", headers={"Accept": "application/vnd.oci.image.index.v1+json"}) as r:
            referrers = [m["digest"] for m in json.loads(r.read()).get("manifests", [])]
    except urllib.error.HTTPError as e:
        if e.code not in (404, 405):
            raise
    # The referrers tag schema, for registries without the referrers API: an index at sha256-<hex>.
    fallback = get_manifest(api, f"sha256-{src_hex}")
    if fallback:
        referrers += [m["digest"] for m in json.loads(fallback[0]).get("manifests", [])]
    moved = []
    for digest in dict.fromkeys(referrers):
        body, media_type = get_manifest(api, digest)
        new_body = body.replace(src.encode(), dst.encode())
        new = put_manifest(api, "sha256:" + hashlib.sha256(new_body).hexdigest(), new_body, media_type)
        m = json.loads(new_body)
        moved.append({"mediaType": media_type, "digest": new, "size": len(new_body),
                      **({"artifactType": m["artifactType"]} if "artifactType" in m else {})})
        copied += 1
    if fallback and moved:
        index = json.loads(fallback[0])
        index["manifests"] = moved
        put_manifest(api, f"sha256-{dst_hex}", json.dumps(index).encode(), fallback[1])
    if copied == 0:
        sys.exit(f"tamper: no signature or attestation of {src} found to copy")
    print(f"tamper: copied {copied} signature/attestation manifest(s) from {src} to {dst}", file=sys.stderr)


def tag(api, digest, name):
    got = get_manifest(api, digest)
    if got is None:
        sys.exit(f"tamper: {digest} not found")
    put_manifest(api, name, *got)


def main(argv):
    if len(argv) == 4 and argv[1] == "one-byte":
        one_byte(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "copy-signatures":
        copy_signatures(argv[2], argv[3], argv[4])
    elif len(argv) == 5 and argv[1] == "tag":
        tag(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
