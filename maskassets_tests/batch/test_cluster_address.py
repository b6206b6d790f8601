"""A stage told to join a Ray cluster waits a while for its head to answer, then fails naming the address and the
fix, instead of Ray's own minutes of retries; a process that gave up on an address does not wait for it again."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from maskassets.batch.cluster import ClusterUnreachableError, require_head_answering
from maskassets_tests.support.loopback import free_port


def test_a_head_that_starts_listening_within_the_wait_is_joined():
    # Ray Client's form of the address is waited for the same way.
    port = free_port()
    listener = socket.socket()
    opened = threading.Timer(1.5, lambda: (listener.bind(("127.0.0.1", port)), listener.listen()))
    opened.start()
    try:
        require_head_answering(f"ray://127.0.0.1:{port}", wait_seconds=30)
    finally:
        opened.join()
        listener.close()


def test_an_address_where_nothing_answers_is_refused_with_the_fix_and_not_awaited_twice():
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(ClusterUnreachableError) as first:
        require_head_answering(address, wait_seconds=2)
    assert re.fullmatch(
        rf"No Ray cluster answers at {address} \(MASKASSETS_RAY_ADDRESS\), tried for [1-9]\d* s: Connection refused\. "
        rf"Start its head there \(`ray start --head --port={address.split(':')[1]}`\), correct the address, or unset "
        r"MASKASSETS_RAY_ADDRESS to run a local Ray\.",
        str(first.value),
    )
    client_address = f"ray://127.0.0.1:{free_port()}"
    with pytest.raises(ClusterUnreachableError, match=r"`ray start --head --ray-client-server-port=\d+`"):
        require_head_answering(client_address, wait_seconds=0)
    # The next video's stage tries once: a folder of videos is not failed a wait at a time.
    with pytest.raises(ClusterUnreachableError, match="tried for 0 s"):
        require_head_answering(address, wait_seconds=60)


@pytest.mark.parametrize("address", ["auto", "head-without-port"])
def test_addresses_without_a_port_are_left_to_ray(address):
    require_head_answering(address, wait_seconds=0)
