"""The public face of monitor.alerts: every exported name exists and nothing public is missing."""

from __future__ import annotations

import monitor.alerts
from monitor.alerts import payload, senders, signing


def test_all_names_exist() -> None:
    for name in monitor.alerts.__all__:
        assert hasattr(monitor.alerts, name), name


def test_package_exports_the_interface_seams() -> None:
    expected = {
        "build_payload",
        "encode_body",
        "sign",
        "verify",
        "send",
        "SinkTarget",
        "ArticleRef",
    }
    assert expected <= set(monitor.alerts.__all__)


def test_module_all_lists_are_complete() -> None:
    for module in (payload, senders, signing):
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (
                (callable(value) and getattr(value, "__module__", None) == module.__name__)
                or (name.isupper() and isinstance(value, str | int | tuple))
            )
        }
        assert public <= set(module.__all__), (module.__name__, public - set(module.__all__))
