"""Issue 21 item 5: the user's code cannot end the tool, write into its stdout, or escape
the API as a raw exception."""

from __future__ import annotations

import json

import pytest

import paraminspect as pi
from paraminspect.errors import OptionError, ParamInspectError, UserCodeError
from tests.safety.conftest import snapshot

CODE = """\
import sys
from mxnet.gluon import nn


def exits():
    sys.exit(3)


def chatty():
    print("building the net")
    net = nn.Sequential()
    net.add(nn.Dense(3))
    return net


def interrupted():
    raise KeyboardInterrupt
"""

RUNS_MAIN = """\
import sys


def main():
    sys.exit(0)


main()


def build():
    pass
"""


@pytest.fixture
def code(work):
    (work / "user.py").write_text(CODE)
    (work / "script.py").write_text(RUNS_MAIN)
    return work


def test_a_factory_calling_sys_exit_is_one_line_exit_1(cli, code):
    before = snapshot(code)
    r = cli("show", f"{code / 'user.py'}:exits", "--input", "data=2x4")
    assert r.exit_code == 1
    assert r.output == (
        f"Error: {code / 'user.py'}:exits called sys.exit(3); a factory or plugin must "
        "return, not end the process\n"
    )
    assert snapshot(code) == before


def test_a_module_that_exits_at_import_is_named(cli, code):
    r = cli("show", f"{code / 'script.py'}:build", "--input", "data=2x4")
    assert r.exit_code == 1
    assert r.output == (
        f"Error: importing '{code / 'script.py'}' called sys.exit(0); does it run its main() "
        "at import? Put that under: if __name__ == '__main__':\n"
    )


def test_a_printing_factory_keeps_the_json_on_stdout_clean(cli, code):
    r = cli("show", f"{code / 'user.py'}:chatty", "--input", "data=2x4", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["model"]["name"]
    assert "building the net" in r.stderr and "building the net" not in r.stdout


def test_keyboard_interrupt_stays_an_interruption(cli, code):
    r = cli("show", f"{code / 'user.py'}:interrupted", "--input", "data=2x4")
    assert r.exit_code == 1 and r.output.strip() == "Aborted!"


def test_api_wraps_sys_exit_and_user_exceptions_with_the_original_chained(code):
    from paraminspect.model.sources import open_source

    source = open_source(f"{code / 'user.py'}:exits", {"data": (2, 4)})
    with pytest.raises(UserCodeError, match=r":exits called sys.exit\(3\)") as info:
        pi.show(source)
    assert isinstance(info.value.__cause__, SystemExit)


def test_api_wraps_a_raising_loss_function():
    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.Dense(3)
    net.initialize()
    X = mx.nd.ones((2, 4))

    def bad_loss(out):
        return {"a": out}["missing"]

    with pytest.raises(
        UserCodeError, match=r"the loss function bad_loss raised KeyError: 'missing'"
    ) as info:
        pi.grad(net, X, loss=bad_loss)
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(UserCodeError, match=r"returned str, not an NDArray"):
        pi.grad(net, X, loss=lambda out: "oops")
    with pytest.raises(UserCodeError, match=r"the loss function <lambda> raised KeyError"):
        pi.grad("mlp", loss=lambda out: {}["x"])


def test_api_watch_step_refuses_a_loss_that_is_not_a_loss():
    from mxnet.gluon import nn

    net = nn.Dense(3)
    net.initialize()
    with pi.watch(net) as watch, pytest.raises(OptionError, match=r"got str 'hello'"):
        watch.step("hello")
    assert issubclass(OptionError, ParamInspectError)
