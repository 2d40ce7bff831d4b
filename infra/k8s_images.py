"""`make k8s-images`: build the images deploy/k8s runs that no registry serves (every service of
docker-compose.yml with a `build:`), then load them into a local cluster (kind or minikube,
from kubectl's current context) or push them to REGISTRY, the registry the cluster overlay's
`images:` override names.

    python -m infra.k8s_images [--cluster auto|kind|minikube] [--registry REGISTRY] [--dry-run]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.compose import COMPOSE_FILE
from trainer.errors import UserError, run_cli
from trainer.paths import PROJECT_ROOT


@dataclass(frozen=True)
class BuiltImage:
    ref: str  # xray-trackbench/<name>:<tag>
    context: Path
    dockerfile: Path

    def build_cmd(self) -> list[str]:
        return ["docker", "build", "-t", self.ref, "-f", str(self.dockerfile), str(self.context)]


def built_images(compose_file: Path = COMPOSE_FILE) -> list[BuiltImage]:
    """One per image reference of the compose services with a `build:` (trainer and trainer-gpu share one)."""
    out: dict[str, BuiltImage] = {}
    for service in yaml.safe_load(compose_file.read_text())["services"].values():
        build = service.get("build")
        if not build:
            continue
        build = {"context": build} if isinstance(build, str) else build
        context = PROJECT_ROOT / build.get("context", ".")
        out.setdefault(service["image"], BuiltImage(service["image"], context,
                                                    context / build.get("dockerfile", "Dockerfile")))
    return list(out.values())


def cluster_of(context: str) -> tuple[str, str]:
    """kubectl's current context -> ("kind", cluster name) or ("minikube", profile)."""
    if context.startswith("kind-"):
        return "kind", context[len("kind-"):]
    if context == "minikube":
        return "minikube", "minikube"
    raise UserError(f"kubectl's current context is {context!r}, neither kind-* nor minikube: pass "
                    "--cluster kind|minikube, or REGISTRY=<registry> make k8s-images to push instead")


def deliver_cmds(ref: str, cluster: tuple[str, str] | None, registry: str | None) -> list[list[str]]:
    """Load into the local cluster, or tag and push to the registry."""
    if registry:
        remote = f"{registry.rstrip('/')}/{ref}"
        return [["docker", "tag", ref, remote], ["docker", "push", remote]]
    kind, name = cluster
    if kind == "kind":
        return [["kind", "load", "docker-image", ref, "--name", name]]
    return [["minikube", "image", "load", ref, "--profile", name]]


def plan(cluster: str, registry: str | None, current_context: str | None) -> list[list[str]]:
    # a named cluster type uses its default name: kind's cluster "kind", minikube's profile "minikube"
    target = None if registry else cluster_of(current_context or "") if cluster == "auto" else (cluster, cluster)
    return [cmd for image in built_images() for cmd in [image.build_cmd(), *deliver_cmds(image.ref, target, registry)]]


def current_context() -> str:
    out = subprocess.run(["kubectl", "config", "current-context"], capture_output=True, text=True)
    if out.returncode != 0:
        raise UserError("kubectl has no current context: start kind or minikube first, or give REGISTRY=<registry>")
    return out.stdout.strip()


def run(cluster: str, registry: str | None, dry_run: bool) -> None:
    context = None if registry or cluster != "auto" else current_context()
    for cmd in plan(cluster, registry, context):
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        if not dry_run and subprocess.run(cmd, cwd=PROJECT_ROOT).returncode != 0:
            raise UserError(f"`{' '.join(cmd[:3])}` failed; see its output above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.k8s_images", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", choices=("auto", "kind", "minikube"), default="auto")
    parser.add_argument("--registry", default=os.environ.get("REGISTRY") or None,
                        help="push to this registry instead of loading into a local cluster (default: $REGISTRY)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    return run_cli(lambda: run(args.cluster, args.registry, args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
