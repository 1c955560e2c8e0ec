"""``python -m tracer_registry.certify.worker``: certify every queued release, then exit.

Settings come from the environment (the API hands its own over, see ``tracer.jobs``).
"""

from __future__ import annotations

import sys


def main() -> int:
    from tracer.settings import get_settings

    from tracer_registry.certify.intake import run_pending

    for outcome in run_pending(get_settings()):
        print(outcome, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
