"""Running the user's own code (a ``FILE.py:FUNC`` factory, an initializer plugin, a loss
function given to the API) so that it cannot end or garble the tool.

While it runs its ``print`` output goes to stderr (stdout carries the report, JSON
included); ``sys.exit`` in it becomes a :class:`~paraminspect.errors.UserCodeError` naming
the function; any other exception becomes one too, with the original chained.
``KeyboardInterrupt`` stays an interruption.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator, Type

from paraminspect.errors import ParamInspectError, UserCodeError


def one_line(e: BaseException) -> str:
    """``KeyError: 'x'``: an exception's type and the first line of its text."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


@contextlib.contextmanager
def user_code(
    what: str,
    error: Type[ParamInspectError] = UserCodeError,
    wrap_all: bool = True,
    importing: bool = False,
) -> Iterator[None]:
    """Run the body as the user's code called ``what`` (``net.py:build``).

    Args:
        what: how the messages name the code.
        error: the error class for an exception the code raised (``SystemExit`` always
            gives :class:`UserCodeError`).
        wrap_all: wrap every ``Exception`` (False: only ``SystemExit``; the caller
            wraps the rest with its own message).
        importing: the body imports the file ``what`` (a ``sys.exit`` there is usually a
            ``main()`` run at import).

    Raises:
        UserCodeError: the code called ``sys.exit`` (or raised, with ``wrap_all``).
    """
    with contextlib.redirect_stdout(sys.stderr):
        try:
            yield
        except SystemExit as e:
            if importing:
                raise UserCodeError(
                    f"importing {what} called sys.exit({e.code!r}); does it run its main() at "
                    "import? Put that under: if __name__ == '__main__':"
                ) from e
            raise UserCodeError(
                f"{what} called sys.exit({e.code!r}); a factory or plugin must return, not end "
                "the process"
            ) from e
        except ParamInspectError:
            raise
        except Exception as e:
            if not wrap_all:
                raise
            raise error(f"{what} raised {one_line(e)}") from e


def call_loss(loss: Callable[[Any], Any], outputs: Any) -> Any:
    """The user's loss function on the outputs: what it raises (or a value that is not an
    NDArray) becomes a :class:`~paraminspect.errors.UserCodeError` naming it.

    Raises:
        UserCodeError: the function raised, called sys.exit, or returned no NDArray.
    """
    name = f"the loss function {getattr(loss, '__name__', type(loss).__name__)}"
    with user_code(name):
        value = loss(outputs)
    if not hasattr(value, "backward"):
        raise UserCodeError(
            f"{name} returned {type(value).__name__}, not an NDArray; return the loss computed "
            "from the outputs (e.g. (out - y).square().mean())"
        )
    return value
