#!/usr/bin/env python3
"""A minimal CX wire-protocol client, written from proto-spec/PROTOCOL.md.

Needs only the `protobuf` package at run time, plus `grpcio-tools` to
generate the message classes from proto-spec/ (into a temporary directory,
or into --gen-dir). One call at a time per connection; call ids are still
chosen as the protocol requires (1, 2, 3, ..., never reused).

    python3 cx_client.py 127.0.0.1:7101
    python3 cx_client.py 127.0.0.1:7101 --method /cx.wire.v1.Echo/Echo --json '{"text": "سلام"}'
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import itertools
import os
import pathlib
import select
import shutil
import socket
import struct
import sys
import tempfile
import time
import zlib

HEADER = struct.Struct(">BI")  # flags (1 byte), length (4 bytes, big-endian, unsigned)
FLAG_COMPRESSED = 0x01
DEFAULT_MAX_MESSAGE = 4 << 20  # 4 MiB, the servers' default
DEFAULT_COMPRESSION_THRESHOLD = 8 << 10  # 8 KiB

CODE_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
]
OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED = 0, 1, 2, 3, 4
RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE = 8, 12, 13, 14


# --- Generated classes --------------------------------------------------------

def load_messages(proto_spec: pathlib.Path, gen_dir: pathlib.Path | None = None):
    """Generates Python classes for every .proto under proto_spec and imports
    cx.wire.v1. Returns a namespace with the frame, health, reflection and echo modules."""
    if gen_dir is None:
        gen_dir = pathlib.Path(tempfile.mkdtemp(prefix="cx-pb-"))
        atexit.register(shutil.rmtree, gen_dir, True)
    gen_dir.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p.relative_to(proto_spec)) for p in proto_spec.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"error: no .proto files under {proto_spec}")
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError:
        if not (gen_dir / "cx" / "wire" / "v1" / "frame_pb2.py").exists():
            raise SystemExit("error: grpcio-tools is needed to generate the classes: pip install grpcio-tools")
    else:
        well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"  # google/protobuf/*.proto
        args = ["protoc", f"-I{proto_spec}", f"-I{well_known}", f"--python_out={gen_dir}", *protos]
        if protoc.main(args) != 0:
            raise SystemExit(f"error: protoc failed on {proto_spec}")
    sys.path.insert(0, str(gen_dir))
    ns = argparse.Namespace()
    for name in ("frame", "health", "reflection", "echo"):
        setattr(ns, name, importlib.import_module(f"cx.wire.v1.{name}_pb2"))
    return ns


# --- Client ------------------------------------------------------------------

class CXError(Exception):
    """A call that did not end OK: the server's Status, or a local failure
    (UNAVAILABLE: cannot connect / connection lost; DEADLINE_EXCEEDED)."""

    def __init__(self, code: int, message: str, reason: str = "", field_violations=()):
        self.code = int(code)
        self.code_name = CODE_NAMES[self.code] if 0 <= self.code < len(CODE_NAMES) else "UNKNOWN"
        self.message = message
        self.reason = reason
        self.field_violations = [(v.field, v.description) for v in field_violations]
        text = f"{self.code_name} ({self.code})"
        if reason:
            text += f" [{reason}]"
        if message:
            text += f": {message}"
        for field, description in self.field_violations:
            text += f"\n  {field}: {description}"
        super().__init__(text)

    @classmethod
    def from_status(cls, status, prefix: str = ""):
        return cls(status.code, prefix + status.message, status.reason, status.field_violations)


class Client:
    """One TCP connection to a CX server; reconnects for the next call after
    a GoAway or a lost connection."""

    def __init__(self, host: str, port: int, messages, *, connect_timeout: float = 3.0,
                 metadata: dict[str, str] | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE,
                 compression_threshold: int | None = DEFAULT_COMPRESSION_THRESHOLD):
        self.host, self.port = host, port
        self.pb = messages.frame
        self.connect_timeout = connect_timeout
        self.metadata = dict(metadata or {})
        self.max_message_size = max_message_size
        self.compression_threshold = compression_threshold
        self.sock: socket.socket | None = None
        self.go_away = None  # the Status of the last GoAway on this connection
        self.frames_in = self.compressed_in = self.frames_out = self.compressed_out = 0
        self._ids = itertools.count(1)

    # connection

    def connect(self) -> None:
        self.close()
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as e:
            raise CXError(UNAVAILABLE, f"cannot reach {self.host}:{self.port}: {e}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.go_away = None
        self._ids = itertools.count(1)  # ids are per connection; 0 is reserved

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # frames

    def _send(self, frame) -> None:
        message = frame.SerializeToString()
        flags = 0
        if self.compression_threshold is not None and len(message) >= self.compression_threshold:
            compressed = zlib.compress(message)  # RFC 1950 zlib stream
            if len(compressed) < len(message):
                message, flags = compressed, FLAG_COMPRESSED
                self.compressed_out += 1
        if len(message) > self.max_message_size:
            raise CXError(RESOURCE_EXHAUSTED,
                          f"frame of {len(message)} bytes exceeds the {self.max_message_size}-byte limit; not sent")
        try:
            self.sock.sendall(HEADER.pack(flags, len(message)) + message)
        except OSError as e:
            self.close()
            raise CXError(UNAVAILABLE, f"cannot send to {self.host}:{self.port}: {e}") from None
        self.frames_out += 1

    def _recv_exact(self, n: int, deadline: float, partial: bool = False) -> bytes | None:
        """n bytes, or None on a clean end of stream before the first byte."""
        chunks, got = [], 0
        while got < n:
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                self.sock.settimeout(remaining)
                chunk = self.sock.recv(min(n - got, 1 << 20))
            except TimeoutError:
                if got or partial:
                    self.close()  # out of step with the frame boundaries: drop the connection
                raise
            if not chunk:
                if got == 0:
                    return None
                raise CXError(UNAVAILABLE, f"connection ended inside a frame ({got} of {n} bytes)")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_frame(self, deadline: float):
        """The next Frame, or None when the server closed the connection."""
        header = self._recv_exact(HEADER.size, deadline)
        if header is None:
            return None
        flags, length = HEADER.unpack(header)
        if flags & ~FLAG_COMPRESSED:
            raise CXError(UNAVAILABLE, f"server sent reserved frame flags 0x{flags:02x}")
        if length > self.max_message_size:  # refuse before buffering
            raise CXError(UNAVAILABLE, f"server announced a {length}-byte message; limit {self.max_message_size}")
        message = self._recv_exact(length, deadline, partial=True) if length else b""
        if message is None:
            raise CXError(UNAVAILABLE, "connection ended inside a frame")
        self.frames_in += 1
        if flags & FLAG_COMPRESSED:
            self.compressed_in += 1
            inflater = zlib.decompressobj()  # zlib (RFC 1950), not gzip or raw deflate
            try:
                message = inflater.decompress(message, self.max_message_size + 1)
            except zlib.error as e:
                raise CXError(UNAVAILABLE, f"compressed frame is not a valid zlib stream: {e}") from None
            if len(message) > self.max_message_size or inflater.unconsumed_tail:
                raise CXError(UNAVAILABLE, f"compressed frame inflates past {self.max_message_size} bytes")
        frame = self.pb.Frame()
        try:
            frame.ParseFromString(message)
        except Exception as e:  # google.protobuf.message.DecodeError
            raise CXError(INTERNAL, f"server sent a frame that is not a cx.wire.v1.Frame: {e}") from None
        return frame

    # calls

    def call(self, method: str, request, response_type, timeout: float = 30.0,
             metadata: dict[str, str] | None = None):
        """Calls `method` ("/pkg.Service/Method") and returns a `response_type`.
        Raises CXError for every outcome other than OK."""
        payload = self.call_raw(method, request.SerializeToString(), timeout, metadata)
        response = response_type()
        try:
            response.ParseFromString(payload)
        except Exception as e:
            raise CXError(INTERNAL, f"response is not a valid {response_type.DESCRIPTOR.full_name}: {e}") from None
        return response

    def call_raw(self, method: str, payload: bytes, timeout: float = 30.0,
                 metadata: dict[str, str] | None = None) -> bytes:
        self._poll()
        if self.sock is None or self.go_away is not None:
            self.connect()  # no new calls on a connection that sent GoAway
        call_id = next(self._ids)
        frame = self.pb.Frame(call_id=call_id)
        frame.request.method = method
        frame.request.payload = payload
        frame.request.timeout_micros = max(1, int(timeout * 1_000_000))
        for key, value in {**self.metadata, **(metadata or {})}.items():
            frame.request.metadata[key.lower()] = value
        deadline = time.monotonic() + timeout
        self._send(frame)
        while True:
            try:
                answer = self._read_frame(deadline)
            except TimeoutError:
                if self.sock is not None:
                    self._cancel(call_id)  # the connection stays usable; a late answer is skipped
                raise CXError(DEADLINE_EXCEEDED, f"no answer within {timeout:g}s") from None
            except OSError as e:
                self.close()
                raise CXError(UNAVAILABLE, f"connection to {self.host}:{self.port} failed: {e}") from None
            except CXError:
                self.close()  # the stream can no longer be trusted
                raise
            if answer is None:  # the server closed the connection
                self.close()
                if self.go_away is not None:
                    raise CXError.from_status(self.go_away, "connection closed after GoAway: ")
                raise CXError(UNAVAILABLE, "connection closed before the call was answered")
            kind = answer.WhichOneof("body")
            if kind == "response":
                if answer.call_id != call_id:
                    continue  # a late answer to a call we gave up on
                status = answer.response.status  # absent status = code 0 = OK
                if status.code != OK:
                    raise CXError.from_status(status)
                return answer.response.payload
            if kind == "go_away":
                # No new calls here. Keep reading: a call the server read before the
                # GoAway is still answered; one it read after is answered UNAVAILABLE
                # (not run), or the connection just closes.
                self.go_away = answer.go_away.status
                continue
            if kind in ("pong", "ping"):
                continue  # never answer a Ping with a Pong: servers reject a client's Pong
            self.close()
            raise CXError(INTERNAL, f"server sent a {kind or 'bodiless'} frame, which only a client may send")

    def _poll(self) -> None:
        """Reads what the server sent while no call was waiting (a GoAway before
        an idle close, say), so that the next call goes to a live connection."""
        while self.sock is not None and select.select([self.sock], [], [], 0)[0]:
            try:
                frame = self._read_frame(time.monotonic() + 1.0)
            except (OSError, CXError):
                frame = None
            if frame is None:
                self.close()
            elif frame.WhichOneof("body") == "go_away":
                self.go_away = frame.go_away.status

    def _cancel(self, call_id: int) -> None:
        frame = self.pb.Frame(call_id=call_id)
        frame.cancel.SetInParent()  # an empty Cancel must still be present
        try:
            self._send(frame)
        except CXError:
            pass

    def ping(self, data: int = 0, timeout: float = 5.0) -> float:
        """Round-trip time of a Ping, in seconds."""
        self._poll()
        if self.sock is None or self.go_away is not None:
            self.connect()
        frame = self.pb.Frame(call_id=0)
        frame.ping.data = data
        frame.ping.SetInParent()
        start = time.monotonic()
        self._send(frame)
        while True:
            try:
                frame = self._read_frame(start + timeout)
            except TimeoutError:
                raise CXError(DEADLINE_EXCEEDED, f"no Pong within {timeout:g}s") from None
            except (OSError, CXError) as e:
                self.close()
                raise e if isinstance(e, CXError) else CXError(UNAVAILABLE, f"connection failed: {e}") from None
            if frame is None:
                self.close()
                raise CXError(UNAVAILABLE, "connection closed before the Pong")
            kind = frame.WhichOneof("body")
            if kind == "pong" and frame.pong.data == data:
                return time.monotonic() - start
            if kind == "go_away":
                self.go_away = frame.go_away.status


# --- CLI ---------------------------------------------------------------------

def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SystemExit(f'error: "{text}" is not host:port (for example 127.0.0.1:7101)')
    return host.strip("[]"), int(port)


def call_any(client: Client, method: str, body: str, timeout: float) -> int:
    """Calls any method, finding its message types through Reflection."""
    from google.protobuf import json_format, message_factory, symbol_database

    listing = client.call("/cx.wire.v1.Reflection/ListMethods", pb.reflection.ListMethodsRequest(),
                          pb.reflection.ListMethodsResponse, timeout)
    info = next((m for m in listing.methods if m.name == method), None)
    if info is None:  # not listed: send it anyway and show the server's answer
        print(f"{method} is not listed by {listing.server}; calling it with an empty request")
        client.call_raw(method, b"", timeout)
        print("OK (empty answer)")
        return 0
    pool = symbol_database.Default().pool
    try:
        request_type = message_factory.GetMessageClass(pool.FindMessageTypeByName(info.request_type))
        response_type = message_factory.GetMessageClass(pool.FindMessageTypeByName(info.response_type))
    except KeyError as e:
        raise SystemExit(f"error: {e}: no .proto under --proto-spec defines it")
    try:
        request = json_format.Parse(body, request_type())
    except json_format.ParseError as e:
        raise SystemExit(f"error: --json is not a valid {info.request_type}: {e}")
    response = client.call(method, request, response_type, timeout)
    print(json_format.MessageToJson(response, ensure_ascii=False, indent=2))
    return 0


def main(argv=None) -> int:
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description="Check a CX server: Health, Reflection, Echo.")
    parser.add_argument("address", help="host:port, for example 127.0.0.1:7101")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")
    parser.add_argument("--token", default=os.environ.get("CX_TOKEN"),
                        help='sent as metadata authorization: "Bearer <token>" (default $CX_TOKEN)')
    parser.add_argument("--proto-spec", type=pathlib.Path, default=here.parent.parent,
                        help="the proto-spec directory (default: two levels up from this file)")
    parser.add_argument("--gen-dir", type=pathlib.Path,
                        help="generate the _pb2 classes here instead of a temporary directory")
    parser.add_argument("--method", help="call this one method instead, e.g. /cx.wire.v1.Echo/Echo")
    parser.add_argument("--json", default="{}", help="the request for --method, as protobuf JSON")
    args = parser.parse_args(argv)

    host, port = parse_address(args.address)
    global pb
    pb = load_messages(args.proto_spec.resolve(), args.gen_dir)
    metadata = {"authorization": f"Bearer {args.token}"} if args.token else {}

    with Client(host, port, pb, metadata=metadata) as client:
        try:
            if args.method:
                return call_any(client, args.method, args.json, args.timeout)

            health = client.call("/cx.wire.v1.Health/Check", pb.health.HealthCheckRequest(),
                                 pb.health.HealthCheckResponse, args.timeout)
            status = pb.health.HealthCheckResponse.ServingStatus.Name(health.status)
            started = health.started_at.ToDatetime().isoformat() + "Z" if health.HasField("started_at") else "?"
            print(f"health:     {status}  server={health.server} version={health.version} started={started} "
                  f"connections={health.connections} calls_in_flight={health.calls_in_flight}"
                  + (f" detail={health.detail!r}" if health.detail else ""))

            listing = client.call("/cx.wire.v1.Reflection/ListMethods", pb.reflection.ListMethodsRequest(),
                                  pb.reflection.ListMethodsResponse, args.timeout)
            print(f"reflection: {len(listing.methods)} methods on {listing.server}")
            for m in listing.methods:
                print(f"  {m.name}({m.request_type}) -> {m.response_type}")

            text = "سلام"
            blob = ("CX " * 12_000).encode()  # 36 kB: large enough that both sides compress it
            echo = client.call("/cx.wire.v1.Echo/Echo", pb.echo.EchoRequest(text=text, payload=blob),
                               pb.echo.EchoResponse, args.timeout)
            same = echo.text == text and echo.payload == blob
            print(f"echo:       text={echo.text!r} payload={len(echo.payload)} bytes "
                  f"{'round-trip OK' if same else 'MISMATCH'} "
                  f"(frames compressed: sent {client.compressed_out}, received {client.compressed_in})")

            rtt = client.ping(data=0x5158)
            print(f"ping:       {rtt * 1000:.2f} ms")
        except CXError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    if status != "SERVING" or not same:
        print("error: server not SERVING or echo mismatch", file=sys.stderr)
        return 1
    return 0


pb = None

if __name__ == "__main__":
    sys.exit(main())
