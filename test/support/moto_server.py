"""moto's server with the corrections of moto_fidelity applied, and the
test fixtures of moto_fixtures.

Started by startMoto() in test/support/moto.ts as
`python3 test/support/moto_server.py --host 127.0.0.1 --port N`.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from werkzeug.serving import run_simple  # noqa: E402

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402

import moto_fidelity  # noqa: E402
from moto_fixtures import Fixtures  # noqa: E402


def main(wrap: Callable[[Any], Any] = lambda app: app) -> None:
    """Serves moto, with its corrections, on --host/--port; `wrap` puts middleware around it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    moto_fidelity.apply()
    # The fixtures path is answered before anything else (the enforcing
    # launcher's authorisation included): it is the test's, not a caller's.
    run_simple(args.host, args.port, Fixtures(wrap(DomainDispatcherApplication(create_backend_app))), threaded=True)


if __name__ == "__main__":
    main()
