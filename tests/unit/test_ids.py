"""Job ids: shape, uniqueness across batches and threads, and no repeats after fork."""

from __future__ import annotations

import os
import re
import threading

from jobkit import ids
from jobkit.ids import new_job_id


def test_an_id_is_32_lowercase_hex_characters() -> None:
    for _ in range(600):  # crosses batch boundaries
        assert re.fullmatch(r"[0-9a-f]{32}", new_job_id())


def test_ids_never_repeat_across_many_batches() -> None:
    drawn = [new_job_id() for _ in range(20 * ids._BATCH + 7)]
    assert len(set(drawn)) == len(drawn)


def test_threads_drawing_at_once_get_distinct_ids() -> None:
    per_thread, results = 3000, [[] for _ in range(8)]
    start = threading.Barrier(8)

    def draw(out: list[str]) -> None:
        start.wait()
        out.extend(new_job_id() for _ in range(per_thread))

    threads = [threading.Thread(target=draw, args=(out,)) for out in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drawn = [i for out in results for i in out]
    assert len(drawn) == 8 * per_thread
    assert len(set(drawn)) == len(drawn)


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_job_id()  # the parent now holds a batch it has not handed out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent, then out without cleanup
        try:
            os.write(write, "".join(new_job_id() for _ in range(10)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    child = {text[i : i + 32] for i in range(0, len(text), 32)}
    parent = {new_job_id() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent
