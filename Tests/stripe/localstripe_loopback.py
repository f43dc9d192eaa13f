#!/usr/bin/env python3
"""Run localstripe exactly as ``localstripe --port N [--from-scratch]`` but
listening on 127.0.0.1 only.

localstripe 1.15.10 (server.start) always binds an IPv6 dual-stack socket to
``('::', port)``, i.e. every interface, and has no option to change that.
This launcher hands it a socket class that binds ``('127.0.0.1', port)``
instead; nothing else in localstripe is changed (same arguments, same store,
same /tmp/localstripe.pickle persistence).

Run it with the Python of the venv that has localstripe installed:
  .venv/bin/python Tests/stripe/localstripe_loopback.py --port N --from-scratch
"""

import socket
import sys
import types


class _LoopbackSocket(socket.socket):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        super().__init__(socket.AF_INET, type, proto, fileno)

    def bind(self, address):
        super().bind(("127.0.0.1", address[1]))


def main():
    from localstripe import server
    shim = types.ModuleType("socket")
    shim.__dict__.update(socket.__dict__)
    shim.socket = _LoopbackSocket
    server.socket = shim          # only localstripe.server's view of `socket`
    sys.argv[0] = "localstripe"
    server.start()


if __name__ == "__main__":
    main()
