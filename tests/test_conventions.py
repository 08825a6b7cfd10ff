"""The shared conventions of README's "Project layout", checked on the source so a second copy fails the
suite: one `printable()`, one error classifier, one accepted-models rule, every rename-over and temp file
through `core/fsio.py`, the poll loop and the background fetcher made by the controller alone, and no module
over 800 lines. (Only `core/gateway/` imports the SDK: an import-linter contract,
tests/test_import_hygiene.py. No private Textual name: tests/test_public_textual.py.)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import batchboard

SOURCE = Path(batchboard.__file__).resolve().parent
MAX_LINES = 800


def modules() -> Iterator[tuple[str, ast.Module]]:
    """(path relative to `batchboard/`, parsed module) for every module of the client: the emulator shares
    nothing with it (an import-linter contract) and has its own wire-format errors and files."""
    for path in sorted(SOURCE.rglob("*.py")):
        if path.relative_to(SOURCE).parts[0] == "emulator":
            continue
        yield path.relative_to(SOURCE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def defined(name: str) -> list[str]:
    """Where a function or class called `name` is defined, at any depth."""
    return [
        where
        for where, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name
    ]


def calls(tree: ast.Module) -> Iterator[tuple[ast.Call, str]]:
    """Every call with its callee as written (`os.replace`, `open`, `path.write_text` as `.write_text`)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            yield node, func.id
        elif isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            yield node, f"{owner}.{func.attr}"


def test_one_printable() -> None:
    assert defined("printable") == ["core/format.py"]


def test_one_error_classifier() -> None:
    assert defined("classify") == ["core/gateway/errors.py"]
    assert defined("ApiError") == ["core/gateway/errors.py"]


def test_the_accepted_models_are_decided_in_one_place() -> None:
    """`accepted_models` is the one rule (the SDK's models, the priced ones, the config's prices); nothing
    else unions `SDK_MODELS` with another set of models."""
    assert defined("accepted_models") == ["core/submit/rules.py"]
    unions = {
        where
        for where, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.BitOr)
        and "SDK_MODELS" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    }
    assert unions == {"core/submit/rules.py"}


#: Calls that put a file in place or make one to be renamed: `core/fsio.py` only.
RENAMES = {"replace", "rename", "renames", "move", "mkstemp", "NamedTemporaryFile"}
#: Modules that write directly on purpose, with the reason.
DIRECT_WRITES = {
    # The demo's request files, in the scratch directory the demo deletes on exit: nothing to keep whole,
    # and the demo's start-up does not pay one fsync per file.
    "demo.py",
}


def direct_writes(where: str, tree: ast.Module) -> list[str]:
    """Renames, temp files and writes of whole files in one module that do not go through `fsio`."""
    found = []
    for node, callee in calls(tree):
        owner, _, name = callee.rpartition(".")
        renamed = (owner in {"os", "shutil", "tempfile"} and name in RENAMES) or (owner and name == "rename")
        if renamed or name in {"write_text", "write_bytes"}:
            found.append(f"{where}:{node.lineno} {callee}")
        elif name == "open" and owner not in {"os", "Store", "webbrowser"}:
            position = 1 if callee == "open" else 0  # open(path, mode) or path.open(mode)
            mode = node.args[position] if len(node.args) > position else None
            mode = next((k.value for k in node.keywords if k.arg == "mode"), mode)
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"):
                found.append(f"{where}:{node.lineno} {callee}({mode.value!r})")
    return found


def test_files_are_written_whole_through_fsio() -> None:
    """Renames, temp files and whole-file writes go through `core/fsio.py` (atomic, 0600, directory
    synced); the bulk writers of `core/results/` stream into temp files `fsio.temp_beside` made."""
    found = [
        write
        for where, tree in modules()
        if where != "core/fsio.py" and where not in DIRECT_WRITES
        for write in direct_writes(where, tree)
    ]
    assert found == []


def test_the_probe_finds_each_kind_of_direct_write() -> None:
    source = "os.replace(a, b)\nopen(p, 'w')\np.write_text('x')\np.open('ab')\nq.rename(r)\nopen(p, 'rb')\n"
    found = direct_writes("probe.py", ast.parse(source))
    assert [w.split()[1] for w in found] == [
        "os.replace",
        "open('w')",
        "p.write_text",
        "p.open('ab')",
        "q.rename",
    ]


def test_the_controller_alone_makes_the_poll_loop_and_the_fetcher() -> None:
    made = {
        (where, callee)
        for where, tree in modules()
        for _, callee in calls(tree)
        if callee in {"Poller", "ResultsFetcher"}
    }
    assert made == {("ui/controller.py", "Poller"), ("ui/controller.py", "ResultsFetcher")}


def test_no_module_over_800_lines() -> None:
    long = {
        where: lines
        for where in (p.relative_to(SOURCE).as_posix() for p in SOURCE.rglob("*.py"))
        if (lines := len((SOURCE / where).read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
