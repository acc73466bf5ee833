"""Fixtures of the data tests: an isolated cache, a local HTTP server, a small real CIFAR-10 zip."""

import functools
import http.server
import socket
import threading
import zipfile

import pytest
from data_helpers import CIFAR_ZIP, SMALL_CLASSES, SMALL_TEST, SMALL_TRAIN, need


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Never touch the user's ~/.cache or a real mirror: cache and data dirs live in tmp_path."""
    monkeypatch.setenv("CONVNP_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "user-data"))
    monkeypatch.delenv("CONVNP_MIRROR", raising=False)
    return tmp_path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(directory, handler=None) -> base URL of an HTTP server on 127.0.0.1 (stopped after the test)."""
    servers = []

    def start(directory, handler=None):
        handler = handler or functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def dead_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def small_cifar_zip(tmp_path_factory):
    """A zip cut from the real CIFAR-10 JPEG zip: 3 classes, 40 train and 12 test images each."""
    need(CIFAR_ZIP)
    path = tmp_path_factory.mktemp("cifar-small") / "cifar-small.zip"
    with zipfile.ZipFile(CIFAR_ZIP) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            parts = name.split("/")
            if len(parts) == 3 and parts[1] in SMALL_CLASSES and parts[2]:
                limit = SMALL_TRAIN if parts[0] == "train" else SMALL_TEST
                if int(parts[2].split(".")[0]) < limit:
                    out.writestr(name, src.read(name))
    return path
