"""Apply grants.toml to the team MLflow server: its users, and their level on each environment's model and experiments.

Run as the server's admin (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD), with the
server's environment (requirements.txt): ``python deploy/tracking/grants.py [grants.toml]``. Idempotent: it creates
what is missing (users, experiments, registered models: so that no one else becomes their owner, with MANAGE)
and sets every level, removing the grant where a role lists none; a second run changes nothing.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server.auth.client import AuthServiceClient

LEVELS = ("READ", "USE", "EDIT", "MANAGE")


class GrantsError(Exception):
    """grants.toml or the environment is wrong; the message says what to fix."""


def read(path: Path) -> dict:
    """grants.toml, checked: every user has a known role, every role's environments and levels exist."""
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise GrantsError(f"{path}: {err}") from err
    environments, roles = spec.get("environments", {}), spec.get("roles", {})
    for name, role in roles.items():
        for env, level in role.items():
            if env not in environments:
                raise GrantsError(f"{path}: role {name} names environment {env}; known: {', '.join(environments)}")
            if level not in LEVELS:
                raise GrantsError(f"{path}: role {name} gives {env} level {level}; use one of {', '.join(LEVELS)}")
    for name, user in spec.get("users", {}).items():
        if user.get("role") not in roles:
            raise GrantsError(f"{path}: user {name} has role {user.get('role')!r}; known: {', '.join(roles)}")
    return spec


def ensure_user(auth: AuthServiceClient, name: str, login_variable: str) -> bool:
    """Create ``name`` with the password in ``login_variable`` unless it exists; True when created."""
    try:
        auth.get_user(name)
        return False
    except MlflowException as err:
        if err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    password = os.environ.get(login_variable, "")
    if not password:
        raise GrantsError(f"user {name} does not exist yet: set {login_variable} to their first password and run again")
    auth.create_user(name, password)
    return True


def set_level(auth: AuthServiceClient, user: str, kind: str, resource: str, level: str | None) -> bool:
    """Give ``user`` exactly ``level`` on the resource (None: no grant, so NO_PERMISSIONS); True if it changed."""
    current = auth.get_user_permission(user, kind, resource).permission
    if current == (level or "NO_PERMISSIONS"):
        return False
    try:
        auth.revoke_user_permission(user, kind, resource)
    except MlflowException as err:
        if err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    if level:
        auth.grant_user_permission(user, kind, resource, level)
    return True


def apply(spec: dict, uri: str) -> list[str]:
    """Bring the server at ``uri`` to ``spec``; returns what changed (nothing on a second run)."""
    client, auth = MlflowClient(tracking_uri=uri, registry_uri=uri), AuthServiceClient(uri)
    changed = []
    resources: dict[str, list[tuple[str, str]]] = {}
    for env, names in spec["environments"].items():
        experiments = [names["experiment"], *(f"{names['experiment']}-{p}" for p in spec.get("purposes", []))]
        resources[env] = []
        for experiment in experiments:
            found = client.get_experiment_by_name(experiment)
            if found is None:
                changed.append(f"created experiment {experiment}")
            experiment_id = found.experiment_id if found else client.create_experiment(experiment)
            resources[env].append(("experiment", experiment_id))
        if not client.search_registered_models(f"name='{names['model']}'"):
            client.create_registered_model(names["model"])
            changed.append(f"created registered model {names['model']}")
        resources[env].append(("registered_model", names["model"]))
    for name, user in spec.get("users", {}).items():
        if ensure_user(auth, name, user.get("login_variable", "")):
            changed.append(f"created user {name}")
        role = spec["roles"][user["role"]]
        for env, targets in resources.items():
            for kind, resource in targets:
                if set_level(auth, name, kind, resource, role.get(env)):
                    changed.append(f"{name}: {role.get(env, 'NO_PERMISSIONS')} on {kind} {resource} ({env})")
    return changed


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path(__file__).with_name("grants.toml")
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    try:
        if not uri.startswith(("http://", "https://")) or not os.environ.get("MLFLOW_TRACKING_USERNAME"):
            raise GrantsError(
                "set MLFLOW_TRACKING_URI to the server (http[s]://...) and MLFLOW_TRACKING_USERNAME / "
                "MLFLOW_TRACKING_PASSWORD to its admin"
            )
        spec = read(path)
        changed = apply(spec, uri)
    except GrantsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MlflowException as err:
        print(f"error: the server at {uri} refused: {err.message.splitlines()[0]}", file=sys.stderr)
        return 1
    users = ", ".join(spec.get("users", {})) or "none"
    print("\n".join(changed) if changed else f"no change: {users} already hold their levels")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
