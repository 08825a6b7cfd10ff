"""The code uses Textual's public API only: no import of a private Textual module (`textual._compositor`,
`textual.widgets._markdown`), and no private Textual name used or overridden by our widgets, screens and App
(`self._styles_cache`, `_render_line_in_row`, `self.app._keymap`…). Private names change between Textual
releases without notice; relying on one is what pinned Textual to one version before."""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

from textual.message_pump import MessagePump

import batchboard

SOURCE = Path(batchboard.__file__).resolve().parent


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def private_textual_imports(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "textual" and any(private(part) for part in parts[1:]):
                names.append(f"line {node.lineno}: {module}")
    return names


def test_no_private_textual_module_is_imported() -> None:
    found = {
        str(path.relative_to(SOURCE)): hits
        for path, tree in sources()
        if (hits := private_textual_imports(tree))
    }
    assert found == {}


def test_the_import_check_sees_a_private_module() -> None:
    tree = ast.parse("from textual._compositor import Compositor\nimport textual.widgets._markdown\n")
    assert private_textual_imports(tree) == [
        "line 1: textual._compositor",
        "line 1: textual._compositor.Compositor",
        "line 2: textual.widgets._markdown",
    ]


def self_names(cls: type) -> set[str]:
    """Private names a class's own code defines or reads on `self` (methods, attributes, class variables)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {name for name in names if private(name)}


def textual_names(cls: type) -> set[str]:
    """Private names Textual's classes in `cls`'s ancestry define, as class members or on `self`."""
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.split(".")[0] == "textual":
            names |= textual_class_names(base)
    return names


@functools.cache
def textual_class_names(base: type) -> frozenset[str]:
    names = {name for name in vars(base) if private(name)}
    with contextlib.suppress(OSError, TypeError):  # built without source
        names |= self_names(base)
    return frozenset(names)


def textual_subclasses() -> Iterator[type]:
    import batchboard.ui

    for info in pkgutil.walk_packages(batchboard.ui.__path__, "batchboard.ui."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, MessagePump) and value.__module__ == info.name:
                yield value


def shared_private_names(cls: type) -> set[str]:
    return self_names(cls) & textual_names(cls)


def test_no_widget_screen_or_app_of_ours_uses_or_overrides_a_private_textual_name() -> None:
    classes = list(textual_subclasses())
    assert len(classes) > 20  # the App, the screens, the modals and the widgets were all found
    found = {
        f"{cls.__module__}.{cls.__qualname__}": names
        for cls in classes
        if (names := shared_private_names(cls))
    }
    assert found == {}


def test_the_name_check_sees_a_private_textual_name() -> None:
    from textual.events import Mount
    from textual.widget import Widget

    class Probe(Widget):
        def _on_mount(self, event: Mount) -> None:  # overrides Textual's own handler
            pass

        def render(self) -> str:
            return f"{self._styles_cache} {self._mine}"

        _mine = ""

    assert shared_private_names(Probe) == {"_on_mount", "_styles_cache"}


#: Private names of other libraries, known and accepted: the type `add_subparsers()` returns (what typeshed
#: and the argparse docs call it; argparse has no public name for it).
NOT_TEXTUAL = {"argparse._SubParsersAction"}


def test_no_private_name_is_read_off_another_object_unless_it_is_ours() -> None:
    # `self.app._keymap`, `screen._compositor`, `widget._styles_cache`: any `x._name` whose name batchboard
    # does not define itself is someone else's private name.
    ours: set[str] = set()
    reads: list[tuple[str, int, str]] = []
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                ours.add(node.name)
            elif isinstance(node, ast.Name):
                ours.add(node.id)
            elif isinstance(node, ast.Attribute) and private(node.attr):
                is_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                if is_self and isinstance(node.ctx, ast.Store):
                    ours.add(node.attr)
                elif not is_self and ast.unparse(node) not in NOT_TEXTUAL:
                    reads.append((str(path.relative_to(SOURCE)), node.lineno, node.attr))
    ours.update(
        info.name.rpartition(".")[2] for info in pkgutil.walk_packages(batchboard.__path__, "batchboard.")
    )
    assert [read for read in reads if read[2] not in ours] == []
