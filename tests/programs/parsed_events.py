"""Parse the strace log LOG and print each event as a JSON line; the first line names the
file the line parser was loaded from (a mypyc .so, or the .py source)."""

import json
import sys

from sysprobe._parsing import lineparse, scan
from sysprobe._parsing.sources import parse_paths

print(json.dumps({"lineparse": lineparse.__file__, "scan": scan.__file__}))
for event in parse_paths([sys.argv[1]]):
    print(json.dumps(event.to_json()))
