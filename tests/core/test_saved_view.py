"""The store's saved view: batches as last seen, per account (profile + base URL), read back in one
indexed query; the batch selected on quit; deleted batches forgotten; the migration of a schema-1 store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from batchboard.core.models import Batch, RequestCounts
from batchboard.core.store import MIGRATIONS, Account, Store
from conftest import HOSTILE

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
HERE = Account.of("default", None)
LOCAL = Account.of("default", "http://127.0.0.1:4010/")


def batch(n: int, status: str = "in_progress", **fields: object) -> Batch:
    created = T0 + timedelta(minutes=n)
    values: dict[str, object] = {
        "id": f"msgbatch_{n:024d}",
        "processing_status": status,
        "counts": RequestCounts(processing=3, succeeded=n),
        "created_at": created,
        "expires_at": created + timedelta(hours=24),
    }
    if status == "ended":
        values["ended_at"] = created + timedelta(minutes=30)
    values.update(fields)
    return Batch(**values)  # type: ignore[arg-type]


def test_account_identity_is_profile_and_normalized_base_url() -> None:
    assert Account("default", "https://api.anthropic.com") == HERE
    assert Account.of("work", "HTTP://LocalHost:8000/") == Account("work", "http://localhost:8000")
    assert Account.of("work", None) != Account.of("home", None)


def test_saved_batches_come_back_whole_newest_first() -> None:
    with Store.memory() as s:
        saved = s.use_account(HERE)
        assert saved.saved_at is None and saved.selected_batch_id is None
        canceled = batch(2, "canceling", cancel_initiated_at=T0 + timedelta(minutes=5))
        ended = batch(3, "ended", archived_at=T0 + timedelta(days=1), results_url="https://x/results")
        s.record_batches([batch(1), canceled, ended], now=T0 + timedelta(hours=1))
        assert s.saved_batches() == [ended, canceled, batch(1)]
        assert s.use_account(HERE).saved_at == T0 + timedelta(hours=1)


def test_another_profile_or_base_url_never_sees_the_batches() -> None:
    with Store.memory() as s:
        s.use_account(HERE)
        s.record_batches([batch(1), batch(2)], now=T0)
        s.use_account(LOCAL)
        assert s.saved_batches() == []
        s.record_batches([batch(3)], now=T0)
        assert [b.id for b in s.saved_batches()] == [batch(3).id]
        s.use_account(Account.of("work", None))
        assert s.saved_batches() == []
        s.use_account(HERE)
        assert [b.id for b in s.saved_batches()] == [batch(2).id, batch(1).id]


def test_no_account_named_shows_nothing_and_keeps_the_owner(tmp_path: Path) -> None:
    file = tmp_path / "db.sqlite"
    with Store.open(file) as s:
        s.use_account(HERE)
        s.record_batches([batch(1)], now=T0)
    with Store.open(file) as s:
        assert s.saved_batches() == []
        # A writer that names no account (a CLI submit) does not take a batch away from its account.
        s.record_batches([batch(1, "ended")], now=T0 + timedelta(hours=1))
    with Store.open(file) as s:
        s.use_account(HERE)
        assert s.saved_batches() == [batch(1, "ended")]


def test_selected_batch_is_kept_per_account(tmp_path: Path) -> None:
    file = tmp_path / "db.sqlite"
    with Store.open(file) as s:
        s.use_account(HERE)
        s.save_selected(HOSTILE)
        s.use_account(LOCAL)
        s.save_selected("msgbatch_local")
    with Store.open(file) as s:
        assert s.use_account(HERE).selected_batch_id == HOSTILE
        assert s.use_account(LOCAL).selected_batch_id == "msgbatch_local"


def test_forgotten_batches_leave_the_saved_view() -> None:
    with Store.memory() as s:
        s.use_account(HERE)
        s.record_batches([batch(1), batch(2)], now=T0)
        s.forget_batches([batch(1).id])
        assert [b.id for b in s.saved_batches()] == [batch(2).id]


def test_end_notice_placeholder_is_not_a_saved_row() -> None:
    with Store.memory() as s:
        s.use_account(HERE)
        s.mark_end_notified("msgbatch_unseen", now=T0)
        assert s.saved_batches() == []
        assert "msgbatch_unseen" in s.end_notified_ids()


def test_schema_1_store_migrates_and_its_rows_belong_to_no_account(tmp_path: Path) -> None:
    file = tmp_path / "old.sqlite"
    old = sqlite3.connect(file)
    old.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    old.execute(
        "INSERT INTO batches VALUES ('msgbatch_old', 'ended', 0, 5, 0, 0, 0, ?, ?, ?, ?, ?)",
        ("2026-11-01T00:00:00.000000+00:00",) * 5,
    )
    old.execute("INSERT INTO labels VALUES ('msgbatch_old', 'kept')")
    old.commit()
    old.close()
    with Store.open(file) as s:
        assert s.schema_version == len(MIGRATIONS)
        s.use_account(HERE)
        assert s.saved_batches() == []  # whose it was is unknown: shown to no one
        assert s.label("msgbatch_old") == "kept" and "msgbatch_old" in s.end_notified_ids()
        # Seen again by this account's poller: it joins the saved view with its whole state.
        again = batch(9, "ended", id="msgbatch_old")
        s.record_batches([again], now=T0)
        assert s.saved_batches() == [again]
        plan = " ".join(
            str(r)
            for r in s.query(
                "EXPLAIN QUERY PLAN SELECT batch_id FROM batches WHERE account_id = 1 "
                "ORDER BY created_at DESC"
            )
        )
        assert "batches_by_account" in plan


def test_10000_saved_batches_read_back_in_one_indexed_query(tmp_path: Path) -> None:
    """What it costs is measured by bench/bench_startup.py (time to rows at 10,000 batches)."""
    file = tmp_path / "big.sqlite"
    with Store.open(file) as s:
        s.use_account(HERE)
        s.record_batches([batch(n, "ended" if n % 10 else "in_progress") for n in range(10_000)], now=T0)
        s.use_account(LOCAL)
        s.record_batches([batch(n, id=f"msgbatch_other_{n}") for n in range(10_000)], now=T0)
    statements: list[str] = []
    with Store.open(file) as s:
        s.use_account(HERE)
        s._db.set_trace_callback(statements.append)
        rows = s.saved_batches()
    assert len(rows) == 10_000 and rows[0].id == batch(9_999).id and rows[-1].id == batch(0).id
    assert sum(1 for b in rows if b.is_active) == 1_000
    assert [st for st in statements if st.lstrip().upper().startswith("SELECT")] == [statements[0]]
