"""A response reaches the socket in one write; streamed chunks, keep-alive and close still work."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tracker.web.one_write import OneWriteProtocol, _OneWriteTransport


class _Socket:
    """What a transport wrote, one entry per write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0


async def test_writes_of_one_turn_reach_the_socket_together() -> None:
    raw = _Socket()
    transport = _OneWriteTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"")
    transport.write(b"{}")
    assert raw.writes == []
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    # Anything not about writing is the socket's own.
    assert transport.get_write_buffer_size() == 0


async def test_each_turn_writes_once_and_close_writes_what_is_pending_first() -> None:
    raw = _Socket()
    transport = _OneWriteTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"a")
    await asyncio.sleep(0)
    transport.write(b"b")
    transport.write(b"c")
    transport.close()
    assert raw.writes == [b"a", b"bc"]
    assert raw.closed
    await asyncio.sleep(0)  # the turn's flush finds nothing left to write
    assert raw.writes == [b"a", b"bc"]


async def test_nothing_is_written_to_a_socket_already_closing() -> None:
    raw = _Socket()
    transport = _OneWriteTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"late")
    raw.closed = True  # the peer went away before the turn ended
    await asyncio.sleep(0)
    assert raw.writes == []


async def _answer(request: Request) -> Response:
    return Response(await request.body() or b"empty", media_type="text/plain")


async def _stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for word in (b"one", b"two", b"three"):
            yield word
            await asyncio.sleep(0.01)

    return StreamingResponse(chunks(), media_type="text/plain")


@contextlib.asynccontextmanager
async def _served() -> AsyncIterator[int]:
    app = Starlette(routes=[Route("/", _answer, methods=["GET", "POST"]), Route("/stream", _stream)])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=OneWriteProtocol, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return head, body
            body += chunk[:-2]
    length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
    return head, await reader.readexactly(length)


async def test_a_real_server_answers_keep_alive_streamed_and_closing_requests() -> None:
    async with _served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Two requests on one connection: the second answer follows the first whole.
        writer.write(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\n\r\nhello")
        writer.write(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
        head, body = await _read_response(reader)
        assert head.startswith(b"HTTP/1.1 200") and body == b"hello"
        head, body = await _read_response(reader)
        assert head.startswith(b"HTTP/1.1 200") and body == b"empty"
        # A streamed answer arrives whole, chunk after chunk.
        writer.write(b"GET /stream HTTP/1.1\r\nhost: t\r\n\r\n")
        head, body = await _read_response(reader)
        assert body == b"onetwothree"
        # "Connection: close": the answer is written before the socket closes.
        writer.write(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        head, body = await _read_response(reader)
        assert body == b"empty"
        assert await reader.read() == b""
        writer.close()
