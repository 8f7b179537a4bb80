"""nginx for the tests: its binary, and deploy/nginx/compose.conf made runnable on this
machine.

Shared by the syntax check of the file (tests/test_deployment.py) and the live body-limit test
(tests/security/test_deployment_hardening.py), so both test the same wrapping of the same file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import unreachable

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx" / "compose.conf"

# The directories nginx writes request bodies and proxied responses to; by default under
# /var/lib/nginx, which a test must not touch.
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
UPSTREAM_SERVER = re.compile(r"(server\s+)[\w.-]+:(\d+)")


def nginx_binary() -> str:
    """nginx's path (bot.scaled.find_nginx); a test needing it skips without it, except in
    CI (CI=true), where `make test` installs it."""
    from bot.scaled import find_nginx

    try:
        return find_nginx()
    except SystemExit as missing:
        unreachable(str(missing))


def compose_nginx_config(
    prefix: Path, *, upstream_port: int | None = None, listen: Mapping[int, int] | None = None
) -> Path:
    """deploy/nginx/compose.conf inside an `http {}` block as the official nginx image wraps
    conf.d/*.conf, written into `prefix` with its pid, logs and temp files; returns the main
    configuration's path.

    The Compose service names resolve only inside Docker's network: the upstream servers
    become 127.0.0.1, on their own ports or all on `upstream_port` (a port where nothing
    listens, for a test that expects 502). `listen` moves servers from a port of the file to a
    port on 127.0.0.1 ({80: 18080}); every port it names must be in the file."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    text = UPSTREAM_SERVER.sub(
        lambda found: f"{found[1]}127.0.0.1:{upstream_port or found[2]}", text
    )
    for port, moved in (listen or {}).items():
        text, count = re.subn(rf"listen\s+{port};", f"listen 127.0.0.1:{moved};", text)
        assert count, f"{NGINX_CONF} has no `listen {port};`"
    text = text.replace("/var/log/nginx/", f"{prefix}/")
    (prefix / "compose.conf").write_text(text, encoding="utf-8")
    temp = "\n".join(f"    {kind}_temp_path {prefix}/{kind};" for kind in TEMP_PATHS)
    config = prefix / "nginx.conf"
    # Bodies stay in memory: as root, nginx's workers could not write to a private directory.
    config.write_text(
        f"pid {prefix}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n{temp}\n    client_body_buffer_size 2m;\n"
        f"    include {prefix}/compose.conf;\n}}\n",
        encoding="utf-8",
    )
    return config
