"""numpy (0.1 s and 15 MB per process) is imported by no process of the service: signatures
are made (the parsing workers), stored and compared (the service) without it. Only the
in-memory `StoryIndex` of the story benchmark uses it."""

from __future__ import annotations

import subprocess
import sys


def test_neither_the_service_nor_a_signature_imports_numpy() -> None:
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
    assert done.stdout.split() == ["False", "False"]


def test_signatures_made_elsewhere_are_stored_and_compared_without_numpy() -> None:
    """The service process unpickles the parsing workers' signatures, compares them and
    computes their band keys without loading numpy; the figures are numpy's."""
    make = (
        "import pickle, sys\n"
        "import numpy as np\n"
        "from monitor.stories import signature\n"
        "a = signature('Haftar meets envoy in Benghazi', 'The UN envoy met Haftar.', '')\n"
        "b = signature('Haftar meets UN envoy in Benghazi', 'The UN envoy met Haftar.', '')\n"
        "x, y = (np.frombuffer(s.to_bytes(), dtype='<u4') for s in (a, b))\n"
        "sys.stdout.buffer.write(pickle.dumps((a, b, float(np.mean(x == y)))))\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", make], capture_output=True, check=True, timeout=60
    ).stdout
    use = (
        "import pickle, sys\n"
        "from monitor.stories import Signature, band_keys, same_story, similarity\n"
        "a, b, expected = pickle.loads(sys.stdin.buffer.read())\n"
        "again = Signature.from_bytes(a.to_bytes(), a.size, a.names, a.lead_names)\n"
        "assert similarity(a, b)[0] == expected, (similarity(a, b), expected)\n"
        "assert similarity(again, a)[0] == 1.0 and band_keys(again) == band_keys(a)\n"
        "assert len(set(band_keys(a)) & set(band_keys(b))) > 0\n"
        "print(same_story(a, b), 'numpy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", use], input=made, capture_output=True, check=True, timeout=60
    )
    assert done.stdout.split() == [b"True", b"False"]
