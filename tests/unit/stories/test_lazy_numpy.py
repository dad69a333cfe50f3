"""numpy (0.1 s and 15 MB per process) is imported where a signature is made or compared,
not at start-up: a pass where every feed answers 304 never loads it."""

from __future__ import annotations

import subprocess
import sys


def test_the_service_imports_without_numpy_until_a_signature_is_made() -> None:
    code = (
        "import sys\n"
        "import monitor.__main__, monitor.cli, monitor.service, monitor.analysis\n"
        "import monitor.db.store, monitor.db.stories\n"
        "print('numpy' in sys.modules)\n"
        "from monitor.stories import signature\n"
        "signature('Haftar meets envoy', 'The envoy met Haftar in Benghazi.', '')\n"
        "print('numpy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True"]
