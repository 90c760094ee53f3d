"""--slice parsing (against numpy's own indexing), --layer and --select."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paraminspect.errors import OptionError
from paraminspect.model.plan import make_plan
from paraminspect.model.selection import apply_slice, parse_slice, select_names
from paraminspect.spec.load import load_spec


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("0", (0,)),
        ("0,:5", (0, slice(None, 5))),
        (":3,-2:", (slice(None, 3), slice(-2, None))),
        ("...,0", (Ellipsis, 0)),
        ("::2", (slice(None, None, 2),)),
        ("[1, 2]", (1, 2)),
    ],
)
def test_parse(expr, expected):
    assert parse_slice(expr) == expected


@pytest.mark.parametrize("expr", ["", "a", "0;1", "1:2:0", "...,...", "__import__('os')", "1.5"])
def test_parse_rejects(expr):
    with pytest.raises(OptionError):
        parse_slice(expr)


part = st.one_of(
    st.integers(-6, 6).map(str),
    st.tuples(
        st.none() | st.integers(-6, 6),
        st.none() | st.integers(-6, 6),
        st.none() | st.sampled_from([-2, -1, 1, 2, 3]),
    ).map(
        lambda t: (
            ("" if t[0] is None else str(t[0]))
            + ":"
            + ("" if t[1] is None else str(t[1]))
            + ("" if t[2] is None else f":{t[2]}")
        )
    ),
    st.just("..."),
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(part, min_size=1, max_size=4),
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
)
def test_slice_agrees_with_numpy(parts, shape):
    expr = ",".join(parts)
    a = np.arange(int(np.prod(shape))).reshape(shape)
    try:
        expected = a[eval(f"np.s_[{expr}]", {"np": np})]  # the reference, in the test only
    except (IndexError, SyntaxError):
        expected = None
    try:
        got = apply_slice(a, parse_slice(expr), "w")
    except OptionError:
        assert expected is None
        return
    assert expected is not None
    np.testing.assert_array_equal(got, expected)


def test_out_of_range_names_the_parameter():
    with pytest.raises(
        OptionError,
        match=r"index 20 is out of range for axis 1 of dense0_weight "
        r"with shape \(256, 20\) \(valid: -20 to 19\)",
    ):
        apply_slice(np.zeros((256, 20)), parse_slice("0,20"), "dense0_weight")


def test_layers_and_select():
    plan = make_plan(load_spec("shared"))
    assert select_names(plan, ("2",)) == ["shared_weight", "shared_bias"]
    assert select_names(plan, ("shared",), ".*bias") == ["shared_bias"]
    assert select_names(plan, ("-1",)) == ["dense2_weight", "dense2_bias"]
    assert select_names(plan, (), ".*weight") == ["dense0_weight", "shared_weight", "dense2_weight"]
    with pytest.raises(OptionError, match="there is no layer 9"):
        select_names(plan, ("9",))
    with pytest.raises(OptionError, match="no parameter matches 'foo'"):
        select_names(plan, (), "foo")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_parses_or_raises_option_error(text):
    try:
        index = parse_slice(text)
    except OptionError as e:
        assert "\n" not in str(e)
        return
    with contextlib.suppress(OptionError):
        apply_slice(np.zeros((3, 4)), index, "w")
