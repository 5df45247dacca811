"""The board's vendored JavaScript and CSS are exactly the pinned releases, with licences."""

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = [ROOT / "opsbackend/static/vendor/CHECKSUMS.sha256",
             ROOT / "tests/vendor/CHECKSUMS.sha256"]


def listed(manifest: Path) -> dict[str, str]:
    entries = {}
    for line in manifest.read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            entries[name] = digest
    return entries


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda m: m.parent.name)
def test_every_vendored_file_matches_its_pinned_checksum(manifest):
    entries = listed(manifest)
    present = {str(path.relative_to(manifest.parent)) for path in manifest.parent.rglob("*")
               if path.is_file() and path != manifest}

    assert present == set(entries), "a vendored file is missing or not listed"
    for name, digest in entries.items():
        assert hashlib.sha256((manifest.parent / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda m: m.parent.name)
def test_every_vendored_library_carries_its_licence(manifest):
    folders = {Path(name).parts[0] for name in listed(manifest)}

    assert all((manifest.parent / folder / "LICENSE").is_file() for folder in folders)


def test_the_board_serves_its_libraries_itself(client):
    response = client.get("/static/vendor/htmx-2.0.4/htmx.min.js")

    assert response.status_code == 200
    assert b"htmx" in response.data
