"""Only ``fileio.py`` writes, renames or removes paths; third-party writers get a temporary
path from one of its helpers (a walk of the package's source)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

PACKAGE = Path(__file__).resolve().parents[2] / "paraminspect"

# os / shutil / tempfile functions that change the file system
PATH_CHANGERS = {
    "os": {"remove", "unlink", "rename", "renames", "replace", "rmdir", "removedirs", "link",
           "symlink", "mkdir", "makedirs", "truncate", "mkfifo", "open", "chmod", "utime"},
    "shutil": None,  # anything in shutil
    "tempfile": None,
}  # fmt: skip
# functions of those modules that touch no path
READ_ONLY = {"get_terminal_size", "which", "disk_usage", "gettempdir"}
# methods that write through a pathlib.Path, and third-party writers
PATH_METHODS = {"write_text", "write_bytes", "unlink", "rename", "replace", "touch", "rmdir",
                "mkdir", "symlink_to", "hardlink_to", "link_to"}  # fmt: skip
THIRD_PARTY = {"save_parameters", "savefig", "export", "save_model"}
THIRD_PARTY_QUALIFIED = {("nd", "save"), ("ndarray", "save"), ("onnx", "save"), ("np", "save"),
                         ("np", "savez"), ("numpy", "save"), ("mx", "save")}  # fmt: skip


def _write_mode(call: ast.Call) -> bool:
    """``open(p, 'w')``, ``open(p, mode='a')``, ``p.open('wb')``: a mode that writes.

    For the builtin, a mode that is not a literal is taken as writing; for an ``.open()``
    method (``Path.open(mode)``, ``ZipFile.open(name, mode)``) any literal argument that
    is a writing mode counts.
    """
    modes = [kw.value for kw in call.keywords if kw.arg == "mode"]
    if isinstance(call.func, ast.Attribute):
        modes += [a for a in call.args if isinstance(a, ast.Constant)]
    elif len(call.args) > 1:
        modes.append(call.args[1])
    for mode in modes:
        if not isinstance(mode, ast.Constant) or not isinstance(mode.value, str):
            if not isinstance(call.func, ast.Attribute):
                return True  # a mode we cannot read is taken as writing
            continue
        if any(c in mode.value for c in "wax+"):
            return True
    return False


def violations(source: str, filename: str = "<src>") -> List[str]:
    """Every place in ``source`` that writes, renames or removes a path, or calls a
    third-party writer."""
    found: List[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        where = f"{filename}:{node.lineno}"
        if isinstance(f, ast.Name) and f.id == "open" and _write_mode(node):
            found.append(f"{where}: open() for writing")
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if (
            name == "ZipFile"
            and len(node.args) > 1
            and _write_mode(ast.Call(func=ast.Name("open"), args=node.args, keywords=node.keywords))
        ):
            found.append(f"{where}: ZipFile() for writing")
        if isinstance(f, ast.Name) and f.id in THIRD_PARTY | {"copyfile", "rmtree", "move"}:
            found.append(f"{where}: {f.id}()")
        if not isinstance(f, ast.Attribute):
            continue
        owner = (
            f.value.id
            if isinstance(f.value, ast.Name)
            else f.value.attr
            if isinstance(f.value, ast.Attribute)  # mx.nd.save: its owner is nd
            else None
        )
        if owner in PATH_CHANGERS:
            allowed = PATH_CHANGERS[owner]
            if (allowed is None and f.attr not in READ_ONLY) or (allowed and f.attr in allowed):
                found.append(f"{where}: {owner}.{f.attr}()")
                continue
        if (owner, f.attr) in THIRD_PARTY_QUALIFIED:
            found.append(f"{where}: {owner}.{f.attr}()")
        elif f.attr in THIRD_PARTY or (f.attr in PATH_METHODS and f.attr != "replace"):
            found.append(f"{where}: .{f.attr}()")
        elif f.attr == "replace" and isinstance(f.value, ast.Call):
            # Path(...).replace(target) renames; str.replace takes two arguments
            if len(node.args) == 1:
                found.append(f"{where}: .replace() on a path")
        elif f.attr == "open" and owner != "os" and _write_mode(node):
            found.append(f"{where}: .open() for writing")
    return found


def test_the_checker_finds_each_kind_of_write():
    src = "\n".join(
        [
            "open(p, 'w')",
            "open(p, mode='ab')",
            "Path(p).open('w')",
            "os.remove(p)",
            "os.unlink(p)",
            "os.rename(a, b)",
            "os.replace(a, b)",
            "shutil.copy(a, b)",
            "tempfile.mkstemp()",
            "Path(p).write_text('x')",
            "p.unlink()",
            "net.save_parameters(p)",
            "fig.savefig(p)",
            "mx.nd.save(p, d)",
            "onnx.save(m, p)",
            "Path(p).replace(q)",
            "zipfile.ZipFile(p, 'w')",
        ]
    )
    assert len(violations(src)) == 17, violations(src)
    harmless = (
        "open(p)\nopen(p, 'rb')\ns.replace('a', 'b')\nos.path.join(a, b)\np.open('rb')\n"
        "zf.open(info)\nshutil.get_terminal_size()\n"
    )
    assert violations(harmless) == []


def test_no_module_but_fileio_writes_renames_or_removes_a_path():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50  # the walk found the package
    found = [
        v
        for path in modules
        if path.name != "fileio.py"
        for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
    ]
    assert found == []


def test_fileio_hands_third_party_writers_only_its_temporary_path():
    """Inside fileio.py every third-party writer is called on ``tmp``: the temporary file
    that :func:`paraminspect.fileio.atomic_write` made and places only when it is whole."""
    tree = ast.parse((PACKAGE / "fileio.py").read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (
            node.func.attr in THIRD_PARTY
            or (
                isinstance(node.func.value, (ast.Name, ast.Attribute))
                and (ast.unparse(node.func.value).split(".")[-1], node.func.attr)
                in THIRD_PARTY_QUALIFIED
            )
        )
    ]
    assert {c.func.attr for c in calls} >= {"save", "savefig", "save_model"}  # type: ignore[attr-defined]
    for call in calls:
        args = [*call.args, *(kw.value for kw in call.keywords)]
        assert any(isinstance(a, ast.Name) and a.id == "tmp" for a in args), ast.unparse(call)
