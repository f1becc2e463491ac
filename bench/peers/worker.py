"""Worker process entry: ``python -m bench.peers.worker NAME``.

Runs ONE worker of library NAME against the Redis URL in ``$PEERBENCH_URL`` until
SIGTERM; its no-op handler reports to the harness through :class:`Recorder`
(``$PEERBENCH_EXPECT`` jobs before it reports done).
"""

from __future__ import annotations

import logging
import os
import sys

from bench.peers import load
from bench.peers.common import ENV_URL, install_recorder


def main() -> None:
    """Run the named library's worker."""
    logging.basicConfig(level=logging.WARNING)
    peer = load(sys.argv[1])
    install_recorder()
    peer.run_worker(os.environ[ENV_URL])


if __name__ == "__main__":
    main()
