"""A console opening an audit log torn by a crash sets the torn bytes aside and says so once."""

from __future__ import annotations

import json

from opsconsole.core.audit import AuditLog, verify
from opsconsole.core.store import Store
from tests.support.console import make_console


def test_the_repair_is_said_in_the_status_bar_and_on_the_timeline(qtbot, tmp_path):
    path = tmp_path / "audit.jsonl"
    AuditLog(path).append({"phase": "intent", "command": "breaker.close", "target": "svc"})
    with open(path, "ab") as f:
        f.write(b'{"seq":2,"ts":1700000000.0,"user":"op","pha')  # the last console crashed
    built, _ui = make_console(tmp_path, {}, Store(capacity=60))
    try:
        qtbot.addWidget(built.window)
        [notice] = built.audit.notices
        assert notice.startswith("the audit log's last record was torn by a crash at about ")
        assert built.window.statusBar().currentMessage() == notice
        [entry] = built.timeline.recent(kinds=["info"])
        assert entry.message == notice and entry.backend == "console"
        # Repaired before any action: the log is whole, the repair is on record in it.
        assert verify(path).ok
        assert json.loads(path.read_text().splitlines()[-1])["event"] == "torn"
    finally:
        built.close()
    # The next console finds nothing to say.
    again, _ = make_console(tmp_path, {}, Store(capacity=60))
    try:
        qtbot.addWidget(again.window)
        assert again.audit.notices == []
        assert len(again.timeline.recent(kinds=["info"])) == 1
    finally:
        again.close()
