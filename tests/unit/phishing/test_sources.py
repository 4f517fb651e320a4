"""Reading messages from files, directories and mbox files; header stripping."""

from __future__ import annotations

from carewall.phishing.analyzer import iter_messages, strip_receiving_headers


def test_single_file(tmp_path, make_mail):
    path = tmp_path / "one.eml"
    path.write_bytes(make_mail())
    assert [label for label, _ in iter_messages(path)] == [str(path)]


def test_directory_is_walked_recursively(tmp_path, make_mail):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.eml").write_bytes(make_mail())
    (tmp_path / "sub" / "b").write_bytes(make_mail())
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    labels = [label for label, _ in iter_messages(tmp_path)]
    assert len(labels) == 2


def test_mbox_is_split_on_envelope_lines_only(tmp_path, make_mail):
    body = make_mail(text="From the desk of the director: hello\n>From here on, fine.")
    envelope = b"From alice@example.org Mon Jan  1 00:00:00 2024\n"
    path = tmp_path / "box.mbox"
    path.write_bytes(envelope + body + b"\n" + envelope + make_mail(subject="second"))
    messages = list(iter_messages(path))
    assert [label.rsplit("#", 1)[1] for label, _ in messages] == ["1", "2"]
    assert b"\nFrom here on" in messages[0][1]


def test_single_message_with_envelope_line(tmp_path, make_mail):
    path = tmp_path / "x.eml"
    path.write_bytes(b"From alice@example.org Mon Jan  1 00:00:00 2024\n" + make_mail())
    assert len(list(iter_messages(path))) == 1


def test_strip_receiving_headers_removes_folded_lines():
    raw = (
        b"Received: from a\r\n by b\r\nAuthentication-Results: x;\r\n spf=fail\r\n"
        b"X-MS-Exchange-Organization-SCL: 9\r\nARC-Seal: i=1\r\nFrom: a@example.org\r\n"
        b"Subject: hi\r\n\r\nReceived: in the body stays\r\n"
    )
    stripped = strip_receiving_headers(raw)
    assert stripped == b"From: a@example.org\r\nSubject: hi\r\n\r\nReceived: in the body stays\r\n"
