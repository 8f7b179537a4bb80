"""Small stand-ins for Rasa's model archives, for the tests of the model registry and its page:
the registry copies the project's archive only when it is a whole gzipped tar
(bot.model_store.whole_archive), and never opens one otherwise."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def stand_in_archive(path: Path, text: str = "stand-in for a Rasa model") -> Path:
    """A gzipped tar at `path` holding one small file that says `text`."""
    content = text.encode()
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo("metadata.json")
        member.size = len(content)
        archive.addfile(member, io.BytesIO(content))
    return path
