"""Generate docs/CLI.md from the click help texts, so the reference never drifts.

Run ``python -m paraminspect.clidoc > docs/CLI.md``; a test fails when the file is stale.
"""

from __future__ import annotations


def cli_reference() -> str:
    """Markdown with the ``--help`` of the root command and of every subcommand."""
    from paraminspect.cli import cli

    parts = [
        "# paraminspect command-line reference",
        "",
        "Generated from the `--help` texts by `python -m paraminspect.clidoc`; do not edit.",
        "",
    ]
    root = cli.make_context(
        "paraminspect", [], resilient_parsing=True, terminal_width=100, max_content_width=100
    )
    parts += ["## paraminspect", "", "```", cli.get_help(root), "```", ""]
    for name in sorted(cli.commands):
        cmd = cli.commands[name]
        ctx = cmd.make_context(name, [], parent=root, resilient_parsing=True)
        parts += [f"## paraminspect {name}", "", "```", cmd.get_help(ctx), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    print(cli_reference(), end="")
