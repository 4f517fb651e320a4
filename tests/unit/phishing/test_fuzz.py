"""Random and mutated input always yields a verdict (a short run; longer runs are by hand)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carewall.phishing.analyzer import Verdict, analyze_bytes

SEED = b"\r\n".join(
    [
        b'From: "PayPal" <a@example.org>',
        b"Subject: =?utf-8?B?w6k=?=",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="b"',
        b"",
        b"--b",
        b"Content-Type: text/html; charset=utf-8",
        b"Content-Transfer-Encoding: quoted-printable",
        b"",
        b'<a href=3D"http://192.0.2.1/login">x</a>',
        b"--b",
        b"Content-Type: application/zip; name=a.zip",
        b"Content-Transfer-Encoding: base64",
        b"",
        b"UEsDBAoAAAAAAA==",
        b"--b--",
        b"",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(0, 12))):
        pos = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip"]))
        chunk = draw(st.binary(min_size=1, max_size=16))
        if action == "insert":
            data[pos:pos] = chunk
        elif action == "delete":
            del data[pos : pos + len(chunk)]
        elif pos < len(data):
            data[pos] ^= chunk[0]
    return bytes(data)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2048), mutated()))
def test_any_bytes_give_a_verdict(raw: bytes) -> None:
    verdict = analyze_bytes(raw)
    assert isinstance(verdict, Verdict)
    assert verdict.verdict in {"phishing", "suspicious", "clean"}
