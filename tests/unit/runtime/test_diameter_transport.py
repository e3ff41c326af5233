"""Diameter transport selection: TCP always, SCTP only where the kernel has it."""

from __future__ import annotations

import socket

import pytest

from network_functions.runtime.diameter import TransportUnavailable, sctp_available, stream_socket

pytestmark = pytest.mark.unit


def test_tcp_socket() -> None:
    with stream_socket("127.0.0.1", "tcp") as s:
        assert s.type == socket.SOCK_STREAM and s.proto in (0, socket.IPPROTO_TCP)


def test_unknown_transport_is_refused_by_name() -> None:
    with pytest.raises(TransportUnavailable, match="unknown Diameter transport 'udp'"):
        stream_socket("127.0.0.1", "udp")


@pytest.mark.skipif(sctp_available(), reason="this kernel has SCTP")
def test_sctp_without_kernel_support_says_so() -> None:
    with pytest.raises(TransportUnavailable, match=r"no SCTP.*diameter.transport: tcp"):
        stream_socket("127.0.0.1", "sctp")


@pytest.mark.skipif(not sctp_available(), reason="this kernel has no SCTP")
def test_sctp_socket_where_available() -> None:
    with stream_socket("127.0.0.1", "sctp") as s:
        assert s.proto == socket.IPPROTO_SCTP
