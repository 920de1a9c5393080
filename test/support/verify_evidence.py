#!/usr/bin/python3
"""Independent verifier of barysafe's evidence chain, sharing no code with barysafe.

DSSE's pre-authentication encoding is written here from the DSSE v1 protocol text; signatures are
checked by Debian's python3-securesystemslib (SSlibKey, scheme ed25519); the public key is read with
python3-cryptography. Each record must be a DSSE envelope holding an in-toto Statement v1, and
each record must name the SHA-256 of the previous record's stored bytes.

Usage: verify_evidence.py REPO_DIR PUBLIC_KEY_PEM [REVIEWER_PUBLIC_KEY_PEM ...]
Prints one JSON document; exit status 0 only when every envelope and link verifies.
"""
import base64
import hashlib
import json
import os
import re
import sys

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import Signature, SSlibKey
from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError

STATEMENT = "https://in-toto.io/Statement/v1"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def load_key(path: str):
    with open(path, "rb") as f:
        data = f.read()
    try:
        pub = serialization.load_pem_public_key(data)
    except ValueError:
        pub = serialization.load_pem_private_key(data, password=None).public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    # barysafe's key id convention, recomputed: "ed25519:" + base64url(SHA-256(SPKI DER)) without padding.
    digest = hashlib.sha256(spki).digest()
    keyid = "ed25519:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    # securesystemslib wants hex key ids; the envelope's keyid is matched against `keyid` above.
    key = SSlibKey(digest.hex(), "ed25519", "ed25519", {"public": raw.hex()})
    key.barysafe_keyid = keyid
    return key


def check_statement(st, problems, name):
    if st.get("_type") != STATEMENT:
        problems.append(f"{name}: _type is not {STATEMENT}")
    subject = st.get("subject")
    if not isinstance(subject, list) or not subject:
        problems.append(f"{name}: no subject")
    else:
        for s in subject:
            if not re.fullmatch(r"[0-9a-f]{64}", str((s.get("digest") or {}).get("sha256", ""))):
                problems.append(f"{name}: a subject has no sha256 digest")
    if not re.match(r"^https://", str(st.get("predicateType", ""))):
        problems.append(f"{name}: predicateType is not a URI")
    pred = st.get("predicate") or {}
    if st.get("predicateType") == TEST_RESULT:
        if pred.get("result") not in ("PASSED", "WARNED", "FAILED"):
            problems.append(f"{name}: test-result without a valid result")
        if not isinstance(pred.get("configuration"), list):
            problems.append(f"{name}: test-result without configuration")
    return pred.get("barysafe") or {}


def main(argv):
    repo, key_path, *reviewer_paths = argv[1:]
    keys = {k.barysafe_keyid: k for k in [load_key(key_path), *map(load_key, reviewer_paths)]}
    trusted = load_key(key_path).barysafe_keyid
    folder = os.path.join(repo, "evidence")
    names = sorted(n for n in os.listdir(folder) if re.fullmatch(r"\d{12}\.intoto\.jsonl", n))
    reviews = sorted(n for n in os.listdir(folder) if re.fullmatch(r"\d{12}\.review-[0-9a-f]{16}\.intoto\.jsonl", n))
    problems, records, previous = [], [], None
    for name in names + reviews:
        with open(os.path.join(folder, name), "rb") as f:
            raw = f.read()
        env = json.loads(raw)
        payload = base64.b64decode(env["payload"])
        message = pae(env["payloadType"], payload)
        if env["payloadType"] != "application/vnd.in-toto+json":
            problems.append(f"{name}: payloadType {env['payloadType']}")
        verified = []
        for s in env["signatures"]:
            key = keys.get(s["keyid"])
            if key is None:
                problems.append(f"{name}: signature by unknown key {s['keyid']}")
                continue
            try:
                key.verify_signature(Signature(key.keyid, base64.b64decode(s["sig"]).hex()), message)
                verified.append(s["keyid"])
            except (UnverifiedSignatureError, VerificationError):
                problems.append(f"{name}: signature by {s['keyid']} does not verify")
        if trusted not in verified:
            problems.append(f"{name}: not verified with the trusted key")
        statement = json.loads(payload)
        info = check_statement(statement, problems, name)
        if name in reviews:
            records.append({"file": name, "review": True, "signatures": verified})
            continue
        seq = int(name[:12])
        if info.get("sequence") != seq:
            problems.append(f"{name}: holds sequence {info.get('sequence')}")
        want = None if previous is None else {"sequence": previous[0], "sha256": previous[1]}
        if info.get("previous") != want:
            problems.append(f"{name}: previous {info.get('previous')} != {want}")
        previous = (seq, hashlib.sha256(raw).hexdigest())
        records.append(
            {"file": name, "sequence": seq, "run": info.get("run"), "outcome": info.get("outcome"),
             "predicateType": statement.get("predicateType"), "signatures": verified}
        )
    print(json.dumps({"ok": not problems, "records": records, "problems": problems}, indent=2))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
