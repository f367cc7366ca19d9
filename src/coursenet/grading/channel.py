"""One request/response channel between the grader and its sandbox.

Frames are a 4-byte big-endian length and a JSON body (:mod:`.codec`). Either
side may send a request while it waits for a reply: the grader calls the
student's function, which calls a function the check put in its globals (a
spy), which calls back into the grader, which may call the student's code
again. So :meth:`Channel.request` serves incoming requests until its own reply
arrives. The grader side gives every wait a deadline (:class:`Stopped`).
"""

from __future__ import annotations

import os
import select
import struct
import time

from coursenet.grading import codec

REPLIES = {"ready", "return", "raise", "value", "done"}


def channel_fds():
    """Inside the sandbox: the (read, write) descriptors the grader passed."""
    read_fd, write_fd = os.environ.pop("COURSENET_GRADING_FDS").split(",")
    return int(read_fd), int(write_fd)


class Stopped(Exception):
    """The sandbox ended, broke the protocol, or ran out of time."""


class Channel:
    def __init__(self, read_fd, write_fd, serve, deadline=None):
        self.read_fd, self.write_fd, self.serve = read_fd, write_fd, serve
        self.deadline = deadline  # a time.monotonic() value, or None
        self.buffer = b""

    def send(self, message):
        data = codec.dumps(message)
        frame = struct.pack(">I", len(data)) + data
        while frame:
            try:
                sent = os.write(self.write_fd, frame)
            except OSError as exc:
                raise Stopped(f"the other side closed the channel ({exc})") from None
            frame = frame[sent:]

    def _read(self, count):
        while len(self.buffer) < count:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    raise Stopped("timeout")
            chunk = os.read(self.read_fd, max(65536, count - len(self.buffer)))
            if not chunk:
                raise Stopped("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self):
        (size,) = struct.unpack(">I", self._read(4))
        if size > codec.MAX_MESSAGE:
            raise Stopped(f"a message of {size} bytes")
        try:
            message = codec.loads(self._read(size))
        except codec.DecodeError as exc:
            raise Stopped(f"a malformed message ({exc})") from None
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            raise Stopped("a message without an op")
        return message

    def request(self, message):
        """Send ``message``; serve the other side's requests until the reply."""
        self.send(message)
        while True:
            incoming = self.receive()
            if incoming["op"] in REPLIES:
                return incoming
            self.send(self.serve(incoming))
