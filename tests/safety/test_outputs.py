"""Issue 21 item 1: an output is checked before any work and never destroys a file the run
did not create (inputs, devices, an earlier log, a concurrent writer's file)."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from paraminspect import fileio
from paraminspect.errors import OutputError
from tests.safety.conftest import snapshot


@pytest.fixture
def params(work, cli) -> Path:
    r = cli("show", str(work / "tiny.yaml"), "--save", str(work / "w.params"))
    assert r.exit_code == 0, r.output
    return work / "w.params"


def _refused(cli, folder: Path, args, message: str, code: int = 1) -> None:
    before = snapshot(folder)
    r = cli(*args)
    assert r.exit_code == code, r.output
    assert r.output.splitlines()[-1] == message
    assert snapshot(folder) == before  # byte-identical, and nothing left behind


def test_log_onto_the_loaded_params_is_refused(cli, work, params):
    spec = str(work / "tiny.yaml")
    _refused(
        cli,
        work,
        ["train", spec, "--epochs", "1", "--load", str(params), "--log", str(params)],
        f"Error: --log '{params}' is the same file as --load; refusing to overwrite an input "
        "(write the output to another file)",
    )


def test_log_onto_the_factory_source_is_refused(cli, work):
    py = work / "net.py"
    _refused(
        cli,
        work,
        ["train", f"{py}:build", "--input", "data=4x6", "--epochs", "1", "--log", str(py)],
        f"Error: --log '{py}' is the same file as the factory's file; refusing to overwrite "
        "an input (write the output to another file)",
    )


def test_save_onto_the_spec_is_refused_even_with_force(cli, work):
    spec = work / "tiny.yaml"
    _refused(
        cli,
        work,
        ["grad", str(spec), "--save", str(spec), "--force"],
        f"Error: --save '{spec}' is the same file as the spec; refusing to overwrite an input "
        "(write the output to another file)",
    )


def test_an_output_reached_through_a_link_is_still_the_input(cli, work, params):
    link = work / "alias.params"
    os.link(params, link)  # a hard link: another name, the same file
    _refused(
        cli,
        work,
        ["show", str(work / "tiny.yaml"), "--load", str(params), "--save", str(link), "--force"],
        f"Error: --save '{link}' is the same file as --load '{params}'; refusing to overwrite "
        "an input (write the output to another file)",
    )


def test_plot_onto_the_data_and_save_onto_an_input_npy_are_refused(cli, work):
    X = work / "X.npy"
    np.save(X, np.ones((4, 6), np.float32))
    _refused(
        cli,
        work,
        ["train", str(work / "tiny.yaml"), "--data", str(X), "--plot", str(X)],
        f"Error: --plot '{X}' is the same file as --data; refusing to overwrite an input "
        "(write the output to another file)",
    )
    _refused(
        cli,
        work,
        ["show", f"{work / 'net.py'}:build", "--input", f"data={X}", "--save", str(X), "--force"],
        f"Error: --save '{X}' is the same file as --input; refusing to overwrite an input "
        "(write the output to another file)",
    )


def test_a_device_or_folder_as_output_is_refused(cli, work):
    _refused(
        cli,
        work,
        ["train", str(work / "tiny.yaml"), "--log", "/dev/null"],
        "Error: --log '/dev/null' is a character device, not a regular file; give a file name "
        "to write",
    )
    assert Path("/dev/null").exists()
    (work / "out").mkdir()
    _refused(
        cli,
        work,
        ["train", str(work / "tiny.yaml"), "--plot", str(work / "out")],
        f"Error: --plot '{work / 'out'}' is a folder; give a file name inside it",
    )


def test_two_outputs_on_one_file_are_refused(cli, work):
    out = work / "run.png"
    _refused(
        cli,
        work,
        ["train", str(work / "tiny.yaml"), "--plot", str(out), "--save", str(out)],
        f"Error: --save and --plot name the same file '{out}'; give each its own",
    )


def test_a_run_failing_before_its_first_record_keeps_the_old_log(cli, work, params):
    log = work / "run.jsonl"
    log.write_text('{"old": true}\n')
    before = snapshot(work)
    # the shared spec cannot take the tiny spec's parameters: the run fails at --load
    r = cli("train", "shared", "--load", str(params), "--log", str(log))
    assert r.exit_code == 1 and r.output.startswith(f"Error: cannot load '{params}'")
    assert snapshot(work) == before


def test_the_log_replaces_its_file_once_a_record_is_written(cli, work):
    log = work / "run.jsonl"
    log.write_text('{"old": true}\n')
    r = cli(
        "train", str(work / "tiny.yaml"), "--epochs", "2", "--log", str(log), "--format", "json"
    )
    assert r.exit_code == 0, r.output
    lines = log.read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert sorted(p.name for p in work.iterdir()) == ["net.py", "run.jsonl", "tiny.yaml"]


def test_a_full_disk_stops_the_log_with_whole_lines_and_exit_1(cli, work, monkeypatch):
    """The second record meets a full disk after half its bytes: the file keeps the first
    line whole, the run finishes with its report, a warning names the stop, exit 1."""
    real_write = os.write
    calls = {"n": 0}

    def full_after_first_line(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, data)
        if calls["n"] == 2:
            return real_write(fd, data[: len(data) // 2])  # a partial write, then no space
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "write", full_after_first_line)
    log = work / "run.jsonl"
    r = cli(
        "train", str(work / "tiny.yaml"), "--epochs", "3", "--log", str(log), "--format", "json"
    )
    assert r.exit_code == 1
    problem = (
        f"could not write line 2 of '{log}' (No space left on device); stopped logging after "
        "1 whole line"
    )
    assert f"warning: --log: {problem}" in " ".join(r.output.split())  # rich folds it
    assert r.output.splitlines()[-1] == f"Error: --log {log}: {problem}"
    assert '"final_loss"' in r.output  # the run finished and its report was printed
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 2
    assert json.loads(lines[0])["epoch"] == 1


def test_save_and_schema_replace_only_with_force(cli, work, params):
    before = params.read_bytes()
    _refused(
        cli,
        work,
        ["show", str(work / "tiny.yaml"), "--save", str(params)],
        f"Error: '{params}' already exists; use --force to overwrite it",
    )
    r = cli("show", str(work / "tiny.yaml"), "--seed", "3", "--save", str(params), "--force")
    assert r.exit_code == 0 and params.read_bytes() != before
    schema = work / "s.json"
    schema.write_text("mine\n")
    _refused(
        cli,
        work,
        ["schema", "-o", str(schema)],
        f"Error: '{schema}' already exists; use --force to overwrite it",
    )
    assert cli("schema", "-o", str(schema), "--force").exit_code == 0
    assert json.loads(schema.read_text())["title"]


def test_of_concurrent_writers_without_force_exactly_one_wins(tmp_path):
    """Every writer has passed the up-front check before any places its file: the atomic
    create lets one win and refuses the others, and no temporary file is left."""
    target = tmp_path / "out.params"
    writers = 4
    barrier = threading.Barrier(writers)
    results = []

    def write_mine(index: int) -> None:
        def write(tmp: str) -> None:
            Path(tmp).write_bytes(f"writer {index}\n".encode())
            barrier.wait(timeout=30)  # all checked and written, none placed yet

        try:
            fileio.atomic_write(target, write)
            results.append(("won", index))
        except OutputError as e:
            results.append(("refused", str(e)))

    threads = [threading.Thread(target=write_mine, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [i for kind, i in results if kind == "won"]
    assert len(won) == 1
    assert target.read_bytes() == f"writer {won[0]}\n".encode()
    refusals = [m for kind, m in results if kind == "refused"]
    assert refusals == [
        f"'{target}' already exists (written while this run was working?); use --force to "
        "overwrite it"
    ] * (writers - 1)
    assert [p.name for p in tmp_path.iterdir()] == ["out.params"]


def test_a_failed_write_removes_only_its_temporary_file(tmp_path):
    target = tmp_path / "out.params"
    target.write_bytes(b"old")

    def fail(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"\(No space left on device\); nothing was changed"):
        fileio.atomic_write(target, fail, force=True)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.params"]


def test_export_out_onto_its_own_graph_or_weights_is_refused(cli, cnn_graph):
    folder = cnn_graph.parent
    for target, role in (
        (cnn_graph, "the graph"),
        (folder / "cnn-0000.params", "the graph's weights"),
    ):
        _refused(
            cli,
            folder,
            ["export", str(cnn_graph), str(target), "--input", "data=1x3x8x8", "--force"],
            f"Error: OUT '{target}' is the same file as {role}; refusing to overwrite an input "
            "(write the output to another file)",
        )
