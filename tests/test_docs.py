"""Docs generated from code stay in sync: the JSON Schema, the configs' headers, colours."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import jsonschema
import pytest
import yaml

from paraminspect.spec.load import builtin_names, read_spec_text
from paraminspect.spec.schema import SCHEMA_URL_COMMENT, json_schema
from tests.conftest import ROOT


def test_shipped_schema_is_current():
    shipped = json.loads((ROOT / "paraminspect" / "configs" / "spec.schema.json").read_text())
    assert shipped == json_schema(), (
        "run: paraminspect schema > paraminspect/configs/spec.schema.json"
    )


@pytest.mark.parametrize("name", builtin_names())
def test_configs_point_editors_at_the_schema_and_validate(name):
    text, _ = read_spec_text(name)
    assert text.splitlines()[0] == SCHEMA_URL_COMMENT
    jsonschema.validate(yaml.safe_load(text), json_schema())


def test_schema_rejects_what_the_loader_rejects():
    schema = json_schema()
    bad = {"input": {"shape": [2, 20]}, "layers": [{"units": 8, "activaton": "relu"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad_init = {
        "input": {"shape": [2, 20]},
        "layers": [{"units": 8}],
        "init": {"method": "normal", "sigma": -1},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_init, schema)


def test_schema_command_writes_file(cli, tmp_path):
    out = tmp_path / "s.json"
    r = cli("schema", "-o", str(out))
    assert r.exit_code == 0
    assert json.loads(out.read_text()) == json_schema()
    assert json.loads(cli("schema").output) == json_schema()


def _run(args, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    e.update(env)
    return subprocess.run(
        [sys.executable, "-m", "paraminspect", *args],
        capture_output=True,
        text=True,
        env=e,
        check=True,
    ).stdout


COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m")  # foreground colour codes


def test_no_ansi_when_piped_and_no_color_respected():
    assert "\x1b[" not in _run(["show", "shared", "--seed", "0"])
    forced = _run(["show", "shared", "--seed", "0"], FORCE_COLOR="1")
    assert COLOUR.search(forced)  # shared parameters are coloured on a terminal
    assert not COLOUR.search(_run(["show", "shared", "--seed", "0"], FORCE_COLOR="1", NO_COLOR="1"))
    assert not COLOUR.search(_run(["--no-color", "show", "shared", "--seed", "0"], FORCE_COLOR="1"))


def test_version(cli):
    from paraminspect import __version__

    assert cli("--version").output == f"paraminspect, version {__version__}\n"


def test_cli_reference_is_current(request):
    from paraminspect.clidoc import cli_reference

    path = ROOT / "docs" / "CLI.md"
    text = cli_reference()
    if request.config.getoption("--update-golden"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, (
        "docs/CLI.md is stale: python -m paraminspect.clidoc > docs/CLI.md"
    )


def test_every_command_help_ends_with_examples():
    from click import Context

    from paraminspect.cli import cli

    for name, cmd in cli.commands.items():
        help_text = cmd.get_help(Context(cmd, info_name=name))
        assert re.search(r"Examples:\n +paraminspect ", help_text), name


def test_readme_command_table_lists_every_command():
    from paraminspect.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands", 1)[1].split("\n\n", 2)[1]
    for name in cli.commands:
        assert f"| `paraminspect {name}" in table, f"README's command table lacks {name}"
    assert "_PARAMINSPECT_COMPLETE=bash_source paraminspect" in readme


def _all_commands():
    import click

    from paraminspect.cli import cli

    stack = [("", cli)]
    while stack:
        prefix, cmd = stack.pop()
        yield prefix, cmd
        if isinstance(cmd, click.Group):
            stack.extend((f"{prefix} {n}".strip(), c) for n, c in cmd.commands.items())


@pytest.mark.parametrize("width", [80, 200])
def test_no_help_paragraph_has_runs_of_spaces(width):
    """Docstring indentation must not leak into --help (nor into docs/CLI.md)."""
    from click import Context

    for name, cmd in _all_commands():
        ctx = Context(cmd, info_name=name or "paraminspect", terminal_width=width)
        text = cmd.get_help(ctx)
        prose = text.split("\nOptions:", 1)[0].split("\nUsage:", 1)[-1]
        # Lines of \b (verbatim) blocks, the Examples among them, keep their layout.
        verbatim = {
            line.strip()
            for block in (cmd.help or "").split("\n\n")
            if block.startswith("\b")
            for line in block.splitlines()
        }
        for line in prose.splitlines()[1:]:
            if line.strip() in verbatim:
                continue
            assert not re.search(r"\S {2,}\S", line), f"{name!r} help: {line!r}"
            assert not line.startswith("   "), f"{name!r} help paragraph indented: {line!r}"
        for param in cmd.params:
            help_ = getattr(param, "help", None) or ""
            assert not re.search(r"\S {2,}\S", help_), f"{name!r} {param.name}: {help_!r}"


def _doc_blocks():
    from tests import doc_blocks

    return [b for path in doc_blocks.doc_files() for b in doc_blocks.find_blocks(path)]


@pytest.mark.parametrize("block", _doc_blocks(), ids=lambda b: b.name)
def test_documented_outputs_match_a_real_run(block, request):
    """Every ``$ paraminspect ...`` block of the README, README.zh-CN and docs/ shows what
    the command prints (timing excepted); one that needs ../shared/data or an extra is
    checked where it is there and skipped with that reason where it is not."""
    from tests import doc_blocks

    reason = block.missing()
    if reason:
        pytest.skip(reason)
    if request.config.getoption("--update-golden"):
        doc_blocks.update_file(block.path)
        block = next(b for b in doc_blocks.find_blocks(block.path) if b.line == block.line)
    problems = doc_blocks.check_block(block)
    assert not problems, "\n\n".join(problems)


def test_every_output_block_is_checked():
    """No block is exempt: what a block needs is declared, so that a clone without it skips
    the block (with the reason) instead of failing, and a machine with it checks it."""
    from tests import doc_blocks

    command = re.compile(r"^ *\$ paraminspect ", re.M)
    for path in doc_blocks.doc_files():
        text = path.read_text(encoding="utf-8")
        assert "output not checked" not in text, path.name
        found = doc_blocks.find_blocks(path)
        assert len(command.findall(text)) == sum(len(command.findall(b.body)) for b in found)
    for block in _doc_blocks():
        used = " ".join([block.body, *block.setup])
        for name in re.findall(r"\.\./shared/data/([\w.*-]+)", used):
            pattern = re.escape(name).replace(r"\*", ".*")
            assert any(re.fullmatch(f"../shared/data/{pattern}", n) for n in block.needs), (
                block.name,
                name,
            )
        if re.search(r"^\$ paraminspect (export|compare) ", block.body, re.M):
            assert "onnxruntime" in block.needs, block.name
        if "--plot" in block.body:
            assert "matplotlib" in block.needs, block.name


def test_readme_is_short_and_keeps_the_quick_start():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 290  # 260 before "Leaving MXNet" (issue 22)
    assert (
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/paraminspect show\n"
        "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest\n"
    ) in readme
    assert "../shared/seed" not in readme
    assert "zh-v1.d2l.ai/chapter_deep-learning-computation/parameters.html" in readme
    assert "## Architecture" in readme
    for name in ("reference", "spec", "guide", "performance", "development"):
        assert f"docs/{name}.md" in readme and (ROOT / "docs" / f"{name}.md").exists()


def _commands(text):
    return set(re.findall(r"`(paraminspect [^`]+)`", text)) | set(
        re.findall(r"^(python3 -m venv .*)$", text, re.M)
    )


def test_chinese_readme_uses_the_english_readmes_commands():
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    for title in (
        "4.2.1 访问模型参数",
        "4.2.2 初始化模型参数",
        "4.2.3 自定义初始化方法",
        "4.2.4 共享模型参数",
    ):
        assert title in zh
    zh_commands = _commands(zh)
    assert len(zh_commands) >= 14
    assert zh_commands <= _commands(en), zh_commands - _commands(en)


def test_specs_lists_the_built_ins_and_prints_one(cli):
    r = cli("specs")
    assert r.exit_code == 0
    # one line each (a description too long for the terminal continues, indented)
    names = [line.split()[0] for line in r.output.splitlines() if not line.startswith(" ")]
    assert names == builtin_names() and "huge" in names
    assert all(len(line) <= 80 for line in r.output.splitlines())
    assert "huge         10 billion parameters (37 GiB of float32)" in r.output
    r = cli("specs", "shared")
    assert r.exit_code == 0 and r.output == read_spec_text("shared")[0]
    r = cli("specs", "shard")
    assert r.exit_code == 1
    assert "Error: no built-in spec 'shard'; did you mean 'shared'?" in r.output


def test_schema_refuses_to_write_inside_the_package(cli):
    target = ROOT / "paraminspect" / "configs" / "spec.schema.json"
    before = target.read_bytes()
    r = cli("schema", "-o", str(target))
    assert r.exit_code == 1
    assert "refusing to write" in r.output and "inside the installed paraminspect package" in (
        r.output
    )
    assert target.read_bytes() == before


def test_help_examples_need_no_clone(tmp_path):
    """Every --help example names built-ins or files it makes itself: it runs anywhere."""
    from click import Context

    for name, cmd in _all_commands():
        text = cmd.get_help(Context(cmd, info_name=name or "paraminspect"))
        for line in re.findall(r"^ +(paraminspect .*)$", text, re.M):
            assert "configs/" not in line and "benchmarks/" not in line, line
    for command in ("paraminspect show huge --shapes-only", "paraminspect check mlp",
                    "paraminspect specs mlp > my_spec.yaml && paraminspect check my_spec.yaml"):  # fmt: skip
        env = dict(
            os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
        )
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True)
        assert proc.returncode == 0, (command, proc.stderr)


def test_completion_offers_built_in_specs_and_methods():
    from paraminspect.cli import cli
    from paraminspect.cli.options import complete_method, complete_spec

    assert [i.value for i in complete_spec(None, None, "sh")][:1] == ["shared"]
    assert complete_method(None, None, "x") == ["xavier"]
    env = dict(
        os.environ,
        _PARAMINSPECT_COMPLETE="bash_complete",
        COMP_WORDS="paraminspect show sh",
        COMP_CWORD="2",
    )
    proc = subprocess.run(
        [sys.executable, "-c", "from paraminspect.cli import cli; cli(prog_name='paraminspect')"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "plain,shared" in proc.stdout.splitlines()
    assert cli.commands["init"]  # --method completes too (checked above)


def test_a_block_that_needs_what_is_missing_says_why_and_varying_text_is_masked(tmp_path):
    from tests import doc_blocks

    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- needs: ../shared/data/no-such-symbol.json -->\n"
        "<!-- needs: onnxruntime -->\n```\n$ paraminspect specs\n```\n\n"
        "<!-- needs: no_such_module_here -->\n```\n$ paraminspect specs\n```\n",
        encoding="utf-8",
    )
    missing, extra = doc_blocks.find_blocks(doc)
    assert missing.needs == ["../shared/data/no-such-symbol.json", "onnxruntime"]
    assert missing.missing() == (
        "needs ../shared/data/no-such-symbol.json (see docs/development.md, 'Test data')"
    )
    assert extra.missing() == (
        "needs the Python module no_such_module_here (pip install no_such_module_here)"
    )
    varies = [r"only [\d.]+ GiB is available"]
    assert doc_blocks.matches(
        ["a: only 2.1 GiB is available; b"], ["a: only 9.9 GiB is available; b"], varies
    )
    assert not doc_blocks.matches(
        ["a: only 2.1 GiB is available; b"], ["a: only 9.9 GiB is available; c"], varies
    )
    assert not doc_blocks.matches(
        ["a: only 2.1 GiB is available; b"], ["a: only 9.9 GiB is available; b"]
    )
