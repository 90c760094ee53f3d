"""The book's MLP: `paraminspect show` against the raw script of In[1]-In[2]."""

from __future__ import annotations

import argparse

from _harness import compare, machine, raw, tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    compare("paraminspect show (book MLP)", tool("show"), raw("raw_show.py"), args.repeats)
    compare(
        "paraminspect show --stats (book MLP)",
        tool("show", "--stats"),
        raw("raw_show.py"),
        args.repeats,
    )


if __name__ == "__main__":
    main()
