"""Every image a Docker user pulls is an exact release that still exists: no floating tag,
no reference known to be gone. No registry answers here, so this is the static half;
`make pull-check` pulls them and lists their digests wherever Docker runs."""
from __future__ import annotations

import re

import pytest
import yaml

from trainer.paths import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
BUILT_HERE = "xray-trackbench/"  # images this project builds (services/*/Dockerfile)

# References that no longer pull or are no longer supported, with why and since when.
GONE = {
    r"^(docker\.io/)?minio/minio(:|$)": "minio/minio is no longer served by Docker Hub (September 2026); use quay.io/minio/minio",
    r"^(docker\.io/)?minio/mc(:|$)": "minio/mc is no longer served by Docker Hub (September 2026); use quay.io/minio/mc",
    r"^wandb/local:0\.([0-5]?\d|6[0-6])\.": "W&B Server 0.66 and older reached end of life (release notes of v0.78.0, March 2026)",
    r"^postgres:(1[0-3])(\.|-|$)": "PostgreSQL 13 and older are end of life",
}
# MinIO's release with the CVE-2025-62506 fix (GHSA-jjjj-jwhf-8rgr; github.com/minio/minio/releases).
# MinIO published no image of it or of any later release (minio/minio#21647, #21661): the last
# image, RELEASE.2025-09-07T16-13-09Z, predates the fix; services/minio builds the fixed source.
MINIO_FIXED = "RELEASE.2025-10-15T17-29-55Z"
# Tags that move: a named release, a bare major (postgres:18), or `latest`.
FLOATING = re.compile(r"^(latest|stable|edge|main|master|nightly|\d+|\d+-[a-z]+)$")
EXACT = re.compile(r"^(\d+\.\d+(\.\d+)?(-[a-z0-9.]+)*|RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)$")


def compose_images() -> list[str]:
    spec = yaml.safe_load(COMPOSE.read_text())
    return [s["image"] for s in spec["services"].values() if "image" in s]


def dockerfile_bases() -> list[str]:
    return [m.group(1) for f in sorted((PROJECT_ROOT / "services").glob("*/Dockerfile"))
            for m in re.finditer(r"^FROM\s+(\S+)", f.read_text(), re.M)]


def problem(ref: str) -> str | None:
    """Why `ref` is not a pinned, pullable release, or None."""
    for pattern, why in GONE.items():
        if re.search(pattern, ref):
            return why
    if re.search(r"(^|/)minio/minio:RELEASE\.", ref) and ref.rpartition(":")[2] < MINIO_FIXED:
        return (f"predates the CVE-2025-62506 fix ({MINIO_FIXED}), of which MinIO published no image: "
                "build it from source (services/minio/Dockerfile)")
    if ref.startswith(BUILT_HERE):
        return None
    name, _, tag = ref.split("@")[0].rpartition(":")
    if not name or "/" in tag:
        return "no tag: Docker pulls `latest`"
    if FLOATING.match(tag) or not EXACT.match(tag):
        return f"tag {tag!r} is not an exact release"
    return None


@pytest.mark.parametrize("ref", compose_images() + dockerfile_bases())
def test_every_image_is_an_exact_release_that_still_pulls(ref):
    assert problem(ref) is None, f"{ref}: {problem(ref)}"


@pytest.mark.parametrize("ref, expected", [
    ("minio/minio:RELEASE.2025-04-22T22-12-26Z", "Docker Hub"),
    ("minio/mc:RELEASE.2025-04-16T18-13-26Z", "Docker Hub"),
    ("wandb/local:0.66.0", "end of life"),
    ("quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z", "CVE-2025-62506"),
    ("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "CVE-2025-62506"),
    ("postgres:13.16", "end of life"),
    ("postgres:18", "not an exact release"),
    ("postgres:18-trixie", "not an exact release"),
    ("wandb/local:latest", "not an exact release"),
    ("wandb/local", "no tag"),
    ("localhost:5000/wandb/local", "no tag"),
])
def test_the_check_rejects_floating_and_gone_references(ref, expected):
    assert expected in (problem(ref) or "")


def test_minio_is_built_at_the_release_with_the_cve_fix():
    """The MinIO server is the release that fixes CVE-2025-62506, built from MinIO's source (its
    Dockerfile's release and the compose image tag agree); mc still comes from quay.io."""
    dockerfile = (PROJECT_ROOT / "services/minio/Dockerfile").read_text()
    release = re.search(r"^ARG MINIO_RELEASE=(\S+)$", dockerfile, re.M).group(1)
    assert release >= MINIO_FIXED
    assert 'git clone --depth 1 --branch "${MINIO_RELEASE}" https://github.com/minio/minio.git' in dockerfile
    spec = yaml.safe_load(COMPOSE.read_text())["services"]
    assert spec["minio"]["build"] == "services/minio"
    assert spec["minio"]["image"] == f"{BUILT_HERE}minio:{release}"
    assert spec["create-bucket"]["image"].startswith("quay.io/minio/mc:")
    assert problem(f"quay.io/minio/minio:{MINIO_FIXED}") is None


def test_pull_check_is_a_make_verb():
    assert re.search(r"^pull-check: .*\n(\t.*\n)*\t\$\(PY\) -m infra pull-check", (PROJECT_ROOT / "Makefile").read_text(), re.M)
