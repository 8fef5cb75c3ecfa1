"""A command imports what it needs: ``inspect-tui report …`` must not pay for the other commands'
modules (jsonschema, the session tools), a fifth of a second at every start."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_command_imports_only_its_own_module():
    probe = textwrap.dedent("""
        import sys
        from inspect_tui.cli import main
        try:
            main(["report", "group", "--help"])
        except SystemExit:
            pass
        loaded = sorted(m for m in sys.modules if m.startswith("inspect_tui.cli.") or m == "jsonschema")
        print("loaded:", " ".join(loaded))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1].split() == ["loaded:", "inspect_tui.cli.report_cmd"], out.stdout
