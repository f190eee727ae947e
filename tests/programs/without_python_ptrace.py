"""sysprobe's command line as on a machine without the ptrace extra: python-ptrace cannot
be imported. Arguments are sysprobe's."""

import sys

sys.modules["ptrace"] = None  # type: ignore[assignment]  # an import of it now fails
sys.argv = ["sysprobe", *sys.argv[1:]]

from sysprobe.cli import main  # noqa: E402

main()
